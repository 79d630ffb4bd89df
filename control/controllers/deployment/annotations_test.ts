import assert from "node:assert/strict";
import { newReplicaSetAnnotations } from "./annotations.ts";
import { deployment, replicaSet } from "./testing.ts";

Deno.test("newReplicaSetAnnotations() copies user annotations but not revision or last-applied", () => {
  const d = deployment(3, {
    annotations: {
      "kubernetes.io/change-cause": "kubectl set image",
      "kubectl.kubernetes.io/last-applied-configuration": "{}",
      "deployment.kubernetes.io/revision": "9",
    },
  });
  const { annotations, changed } = newReplicaSetAnnotations(d, { metadata: {} }, 4, false);
  assert.equal(changed, true);
  assert.deepEqual(annotations, {
    "kubernetes.io/change-cause": "kubectl set image",
    "deployment.kubernetes.io/revision": "4",
    "deployment.kubernetes.io/desired-replicas": "3",
    "deployment.kubernetes.io/max-replicas": "4",
  });
});

Deno.test("newReplicaSetAnnotations() keeps the old revision in revision-history on a rollback", () => {
  const d = deployment(1);
  const rs = replicaSet("web-a", 1, 1, {
    revision: 1,
    annotations: { "deployment.kubernetes.io/revision-history": "" },
  });
  const first = newReplicaSetAnnotations(d, rs, 3, true).annotations;
  assert.equal(first["deployment.kubernetes.io/revision"], "3");
  assert.equal(first["deployment.kubernetes.io/revision-history"], "1");
  const second = newReplicaSetAnnotations(d, { metadata: { annotations: first } }, 5, true).annotations;
  assert.equal(second["deployment.kubernetes.io/revision-history"], "1,3");
});

Deno.test("newReplicaSetAnnotations() never lowers a revision", () => {
  const rs = replicaSet("web-a", 1, 1, { revision: 7 });
  const { annotations, changed } = newReplicaSetAnnotations(deployment(1), rs, 3, true);
  assert.equal(changed, false);
  assert.equal(annotations["deployment.kubernetes.io/revision"], "7");
});
