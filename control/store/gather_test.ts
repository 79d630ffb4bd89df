import assert from "node:assert/strict";
import { type CommitOutcome, Committer, type WriteIntent } from "./committer.ts";
import { type GatherMode, GatherPolicy } from "./gather.ts";
import { commitOf, toEventId } from "./keys.ts";
import { Store, type StoreResource } from "./store.ts";

function write(name: string): WriteIntent {
  return {
    res: "configmaps",
    ns: "default",
    name,
    expect: null,
    bytes: new TextEncoder().encode(name),
    entry: { t: "A", ns: "default", n: name, ts: 0 },
    checks: [],
  };
}

/** Submits `a`, then `b` one resolved promise later (a request that reached `submit` just after). */
async function twoWrites(mode: GatherMode): Promise<[CommitOutcome, CommitOutcome]> {
  const kv = await Deno.openKv(":memory:");
  try {
    const committer = new Committer(kv, undefined, mode);
    const a = committer.submit(write("a"));
    await Promise.resolve();
    const b = committer.submit(write("b"));
    return [await a, await b];
  } finally {
    kv.close();
  }
}

Deno.test("a commit from idle that gathers takes in a write submitted while it waits", async () => {
  const [a, b] = await twoWrites("always");
  assert.ok(a.ok && b.ok);
  assert.equal(a.vs, b.vs, "one commit");
  assert.ok(a.ev < b.ev, "distinct event ids in submission order");
});

Deno.test("without gathering, a commit from idle starts at once and the next write waits for it", async () => {
  const [a, b] = await twoWrites("never");
  assert.ok(a.ok && b.ok);
  assert.notEqual(a.vs, b.vs, "two commits");
});

Deno.test("Store's gather option reaches its committer, and its mode can be changed at run time", async () => {
  const configmaps: StoreResource = {
    key: "configmaps",
    gr: { group: "", resource: "configmaps" },
    fields: (o) => ({
      "metadata.name": o.metadata.name ?? "",
      "metadata.namespace": o.metadata.namespace ?? "",
    }),
  };
  const cm = (name: string) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default" },
  });
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv, { gather: "always" });
    const commitsOf = async (prefix: string) => {
      const a = store.create(configmaps, cm(`${prefix}-a`));
      await Promise.resolve();
      const b = store.create(configmaps, cm(`${prefix}-b`));
      const rvs = [(await a).metadata.resourceVersion!, (await b).metadata.resourceVersion!];
      return new Set(rvs.map((rv) => commitOf(toEventId(rv)!))).size;
    };
    assert.equal(await commitsOf("gathered"), 1);
    store.gather.mode = "never";
    assert.equal(await commitsOf("apart"), 2);
    assert.equal(new Store(kv).gather.mode, "never", "the default keeps HEAD's behaviour");
  } finally {
    kv.close();
  }
});

Deno.test("GatherPolicy gathers while gathering pays, then only probes every 8th commit", () => {
  const policy = new GatherPolicy();
  // A fresh policy has no evidence: it probes.
  const first = Array.from({ length: 16 }, () => policy.shouldGather());
  assert.deepEqual(first.map((g, i) => g ? i : -1).filter((i) => i >= 0), [7, 15]);
  // Bursts: gatherings bring more writes, so every commit from idle gathers.
  for (let i = 0; i < 20; i++) policy.record(true);
  assert.ok(policy.successRate > 0.9);
  assert.ok(Array.from({ length: 10 }, () => policy.shouldGather()).every(Boolean));
  // One sequential writer: gatherings bring nothing; after a few, it stops gathering.
  let gathered = 0;
  for (let i = 0; i < 200; i++) {
    if (policy.shouldGather()) {
      gathered++;
      policy.record(false);
    }
  }
  assert.ok(policy.successRate < 0.25);
  assert.ok(gathered < 40, `gathered on ${gathered} of 200 sequential commits`);
  // Load comes back: a probe that pays brings gathering back within a few probes.
  for (let i = 0; i < 40 && policy.successRate < 0.25; i++) if (policy.shouldGather()) policy.record(true);
  assert.ok(policy.shouldGather());
});

Deno.test("GatherPolicy's fixed modes ignore the outcomes", () => {
  const always = new GatherPolicy("always");
  const never = new GatherPolicy("never");
  for (let i = 0; i < 50; i++) {
    always.record(false);
    never.record(true);
    assert.equal(always.shouldGather(), true);
    assert.equal(never.shouldGather(), false);
  }
});
