import assert from "node:assert/strict";
import { parseLabelSelector } from "../../api/selector.ts";
import { adoptPatch, getControllerOf, planClaims, releasePatch } from "./ownership.ts";
import { pod, ref } from "./testing.ts";

const rs = { metadata: { name: "web-1", namespace: "default", uid: "rs-uid" } };

Deno.test("planClaims() keeps its own matching pods, adopts matching orphans and releases non-matching ones", () => {
  const mine = pod("mine", { owner: ref("ReplicaSet", "web-1", "rs-uid") });
  const orphan = pod("orphan");
  const strayed = pod("strayed", { owner: ref("ReplicaSet", "web-1", "rs-uid"), labels: { app: "other" } });
  const theirs = pod("theirs", { owner: ref("ReplicaSet", "x", "x-uid") });
  const deletingOrphan = pod("deleting", { deleting: true });
  const plan = planClaims(rs, parseLabelSelector("app=web"), [mine, orphan, strayed, theirs, deletingOrphan]);
  assert.deepEqual(plan.owned.map((p) => p.metadata.name), ["mine"]);
  assert.deepEqual(plan.adopt.map((p) => p.metadata.name), ["orphan"]);
  assert.deepEqual(plan.release.map((p) => p.metadata.name), ["strayed"]);
});

Deno.test("planClaims() adopts and releases nothing while the owner is being deleted", () => {
  const owner = { metadata: { ...rs.metadata, deletionTimestamp: "2025-01-01T00:00:00Z" } };
  const plan = planClaims(owner, parseLabelSelector("app=web"), [
    pod("orphan"),
    pod("strayed", { owner: ref("ReplicaSet", "web-1", "rs-uid"), labels: { app: "other" } }),
  ]);
  assert.equal(plan.adopt.length, 0);
  assert.equal(plan.release.length, 0);
});

Deno.test("adopt and release patches carry the pod UID as a precondition", () => {
  const p = pod("p", { uid: "pod-uid" });
  const r = ref("ReplicaSet", "web-1", "rs-uid");
  assert.deepEqual(adoptPatch(p, r), { metadata: { ownerReferences: [r], uid: "pod-uid" } });
  assert.deepEqual(releasePatch(p, "rs-uid"), {
    metadata: { ownerReferences: [{ $patch: "delete", uid: "rs-uid" }], uid: "pod-uid" },
  });
  assert.equal(getControllerOf(pod("q", { owner: r }))?.uid, "rs-uid");
});
