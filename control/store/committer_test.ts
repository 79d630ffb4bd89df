import assert from "node:assert/strict";
import { type CommitOutcome, Committer, type WriteIntent } from "./committer.ts";

function createIntent(name: string): WriteIntent {
  return {
    res: "configmaps",
    ns: "default",
    name,
    expect: null,
    bytes: new Uint8Array([1, 2, 3]),
    entry: { t: "A", ns: "default", n: name, ts: Date.now() },
    checks: [],
  };
}

Deno.test("the committer never batches two writes to one object: the second sees the first's commit", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let commits = 0;
    const committer = new Committer(kv, () => commits++);
    // The first write starts a commit; the next three queue behind it and share the next batch,
    // except the second create of "x", which must not be combined with the first.
    const first = committer.submit(createIntent("w"));
    const queued = [createIntent("x"), createIntent("x"), createIntent("y")].map((w) => committer.submit(w));
    const [w, x1, x2, y] = await Promise.all([first, ...queued]) as CommitOutcome[];
    assert.ok(w.ok && x1.ok && y.ok);
    assert.equal(x2.ok, false, "a create of an object that the batch before it created fails its check");
    assert.equal(commits, 2, "w alone, then x and y together (the failed second x commits nothing)");
  } finally {
    kv.close();
  }
});
