import assert from "node:assert/strict";
import {
  claimsFor,
  identityMatches,
  isMemberOf,
  newStatefulSetPod,
  parentAndOrdinal,
  storageMatches,
} from "./identity.ts";
import { statefulSet } from "./testing.ts";

Deno.test("newStatefulSetPod() gives the pod its stable name, hostname, labels and claim volume", () => {
  const set = statefulSet(3, { claims: true });
  const pod = newStatefulSetPod(set, 2, "web-abc");
  assert.equal(pod.metadata.name, "web-2");
  assert.equal(pod.metadata.generateName, undefined);
  assert.equal(pod.spec.hostname, "web-2");
  assert.equal(pod.spec.subdomain, "web");
  assert.deepEqual(pod.metadata.labels, {
    app: "web",
    "statefulset.kubernetes.io/pod-name": "web-2",
    "apps.kubernetes.io/pod-index": "2",
    "controller-revision-hash": "web-abc",
  });
  assert.deepEqual(pod.spec.volumes, [{ name: "data", persistentVolumeClaim: { claimName: "data-web-2" } }]);
  assert.equal(pod.metadata.ownerReferences?.[0].kind, "StatefulSet");
  assert.equal(identityMatches(set, { ...pod, metadata: { ...pod.metadata, namespace: "default" } }), true);
  assert.equal(storageMatches(set, pod), true);
});

Deno.test("claimsFor() names claims <template>-<set>-<ordinal> and adds the selector labels", () => {
  const claim = claimsFor(statefulSet(1, { claims: true }), 0).get("data")!;
  assert.equal(claim.metadata.name, "data-web-0");
  assert.deepEqual(claim.metadata.labels, { app: "web" });
  assert.equal(claim.kind, "PersistentVolumeClaim");
});

Deno.test("parentAndOrdinal() parses <set>-<ordinal> and rejects other names", () => {
  assert.deepEqual(parentAndOrdinal({ metadata: { name: "my-db-12" } }), { parent: "my-db", ordinal: 12 });
  assert.equal(parentAndOrdinal({ metadata: { name: "web-x" } }).ordinal, -1);
  assert.equal(isMemberOf(statefulSet(1), { metadata: { name: "web-3" } }), true);
  assert.equal(isMemberOf(statefulSet(1), { metadata: { name: "webby-3" } }), false);
});
