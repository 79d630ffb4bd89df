import assert from "node:assert/strict";
import { buildNewReplicaSet, podTemplateHash, syncedNewReplicaSet } from "./new_replica_set.ts";
import { deployment, replicaSet } from "./testing.ts";

Deno.test("buildNewReplicaSet() names the ReplicaSet after the template hash and labels it", () => {
  const d = deployment(3);
  const old = replicaSet("web-old", 3, 3, { revision: 2, image: "nginx:0" });
  const rs = buildNewReplicaSet(d, [old]);
  const hash = podTemplateHash(d);
  assert.equal(rs.metadata.name, `web-${hash}`);
  assert.equal(rs.metadata.labels?.["pod-template-hash"], hash);
  assert.equal(rs.spec.template.metadata.labels["pod-template-hash"], hash);
  assert.deepEqual(rs.spec.selector.matchLabels, { app: "web", "pod-template-hash": hash });
  assert.equal(rs.metadata.ownerReferences?.[0].uid, "d-uid");
  assert.equal(rs.metadata.ownerReferences?.[0].controller, true);
  assert.equal(rs.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
  // 3 old pods + 25% surge of 3 (1): one new pod now
  assert.equal(rs.spec.replicas, 1);
  assert.equal(d.spec.template.metadata.labels["pod-template-hash"], undefined);
});

Deno.test("podTemplateHash() changes with the template and the collision count", () => {
  const d = deployment(1);
  const other = {
    ...d,
    spec: {
      ...d.spec,
      template: { ...d.spec.template, spec: { containers: [{ name: "c", image: "nginx:2" }] } },
    },
  };
  assert.notEqual(podTemplateHash(d), podTemplateHash(other));
  assert.notEqual(podTemplateHash(d), podTemplateHash({ ...d, status: { collisionCount: 1 } }));
});

Deno.test("syncedNewReplicaSet() updates minReadySeconds and annotations only when they differ", () => {
  const d = deployment(1, { extra: { minReadySeconds: 5 } });
  const rs = replicaSet("web-new", 1, 1, { revision: 1 });
  const synced = syncedNewReplicaSet(d, rs, []);
  assert.equal(synced?.spec.minReadySeconds, 5);
  assert.equal(syncedNewReplicaSet(d, synced!, []), undefined);
});
