import assert from "node:assert/strict";
import { applyRevision, chooseUpdateRevision, newRevision, revisionsToTruncate } from "./revisions.ts";
import { statefulSet } from "./testing.ts";

const withImage = (image: string) => {
  const s = statefulSet(1);
  s.spec.template.spec.containers[0].image = image;
  return s;
};

Deno.test("newRevision() names a revision after its data and applies back to the template", () => {
  const set = withImage("nginx:1");
  const rev = newRevision(set, 1, 0);
  assert.match(rev.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(rev.revision, 1);
  assert.equal(rev.metadata.labels?.["controller.kubernetes.io/hash"], rev.metadata.name!.slice(4));
  assert.deepEqual(applyRevision(withImage("other"), rev).spec.template, set.spec.template);
  assert.notEqual(newRevision(set, 1, 1).metadata.name, rev.metadata.name);
});

Deno.test("chooseUpdateRevision() reuses the latest, renumbers an older equal one, or creates", () => {
  const r1 = newRevision(withImage("nginx:1"), 1, 0);
  const r2 = newRevision(withImage("nginx:2"), 2, 0);
  assert.equal(chooseUpdateRevision(withImage("nginx:2"), [r1, r2]).kind, "latest");
  const back = chooseUpdateRevision(withImage("nginx:1"), [r1, r2]);
  assert.equal(back.kind, "renumber");
  assert.equal(back.kind === "renumber" && back.to, 3);
  const fresh = chooseUpdateRevision(withImage("nginx:3"), [r1, r2]);
  assert.equal(fresh.kind, "create");
  assert.equal(fresh.revision.revision, 3);
});

Deno.test("revisionsToTruncate() keeps live revisions and the history limit", () => {
  const set = { ...statefulSet(1), spec: { ...statefulSet(1).spec, revisionHistoryLimit: 1 } };
  const revs = [1, 2, 3, 4].map((n) => ({ metadata: { name: `web-${n}` }, revision: n }));
  assert.deepEqual(revisionsToTruncate(set, revs, new Set(["web-4"])).map((r) => r.metadata.name), [
    "web-1",
    "web-2",
  ]);
});
