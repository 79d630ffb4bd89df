import assert from "node:assert/strict";
import { parseFieldSelector, parseLabelSelector } from "../api/selector.ts";
import { ApiError } from "../api/status.ts";
import type { KubeObject, WatchEvent } from "../api/types.ts";
import { compact, list, MAX_OBJECT_BYTES, Store, type StoreResource, toEventId, WatchHub } from "./mod.ts";

const pods: StoreResource = {
  key: "pods",
  gr: { group: "", resource: "pods" },
  fields: (o) => ({
    "metadata.name": o.metadata.name ?? "",
    "metadata.namespace": o.metadata.namespace ?? "",
    "spec.nodeName": o.spec?.nodeName ?? "",
  }),
};

function pod(name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels }, spec: { ...extra } };
}

async function withStore(fn: (store: Store, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new Store(kv), kv);
  } finally {
    kv.close();
  }
}

async function expectStatus(p: Promise<unknown>, code: number, reason?: string) {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
    assert.equal(e.code, code);
    if (reason) assert.equal(e.reason, reason);
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

Deno.test("create() assigns a decimal resourceVersion and get() reads it back", () =>
  withStore(async (store) => {
    const created = await store.create(pods, pod("a"));
    assert.match(created.metadata.resourceVersion!, /^[1-9][0-9]*$/);
    const got = await store.get(pods, "default", "a");
    assert.equal(got?.metadata.resourceVersion, created.metadata.resourceVersion);
    await expectStatus(store.create(pods, pod("a")), 409, "AlreadyExists");
  }));

Deno.test("update() bumps the resourceVersion monotonically and skips no-op writes", () =>
  withStore(async (store) => {
    const a = await store.create(pods, pod("a"));
    const b = await store.update(pods, "default", "a", (cur) => ({ ...cur, spec: { x: 1 } }));
    assert.ok(BigInt(b.metadata.resourceVersion!) > BigInt(a.metadata.resourceVersion!));
    const c = await store.update(pods, "default", "a", (cur) => cur);
    assert.equal(c.metadata.resourceVersion, b.metadata.resourceVersion);
  }));

Deno.test("update() reruns tryUpdate after a concurrent write", () =>
  withStore(async (store) => {
    await store.create(pods, pod("a", {}, { n: 0 }));
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.update(pods, "default", "a", (cur) => {
          cur.spec.n++;
          return cur;
        })),
    );
    assert.equal((await store.get(pods, "default", "a"))!.spec.n, 20);
  }));

Deno.test("objects larger than one KV value are chunked and read back whole", () =>
  withStore(async (store) => {
    const big = "x".repeat(300_000);
    await store.create(pods, pod("big", {}, { big }));
    assert.equal((await store.get(pods, "default", "big"))!.spec.big, big);
    await store.update(pods, "default", "big", (cur) => ({ ...cur, spec: { big: big + "y" } }));
    assert.equal((await store.get(pods, "default", "big"))!.spec.big, big + "y");
    const listed = await list(store, pods, {});
    assert.equal(listed.items[0].spec.big.length, 300_001);
    await expectStatus(store.create(pods, pod("huge", {}, { s: "x".repeat(MAX_OBJECT_BYTES) })), 413);
    assert.equal(await store.get(pods, "default", "huge"), null);
  }));

Deno.test("list() filters by namespace, labels and fields", () =>
  withStore(async (store) => {
    await store.create(pods, pod("a", { app: "web" }, { nodeName: "n1" }));
    await store.create(pods, pod("b", { app: "db" }, { nodeName: "n2" }));
    await store.create(pods, { ...pod("c", { app: "web" }), metadata: { name: "c", namespace: "other", labels: { app: "web" } } });
    const names = async (o: Parameters<typeof list>[2]) => (await list(store, pods, o)).items.map((p) => p.metadata.name);
    assert.deepEqual(await names({}), ["a", "b", "c"]);
    assert.deepEqual(await names({ namespace: "default" }), ["a", "b"]);
    assert.deepEqual(await names({ labelSelector: parseLabelSelector("app=web") }), ["a", "c"]);
    assert.deepEqual(await names({ fieldSelector: parseFieldSelector("spec.nodeName=n2") }), ["b"]);
  }));

Deno.test("list() pages with limit/continue show one consistent view despite concurrent writes", () =>
  withStore(async (store) => {
    for (let i = 0; i < 10; i++) await store.create(pods, pod(`p${i}`, {}, { v: 0 }));
    const first = await list(store, pods, { limit: 4 });
    assert.deepEqual(first.items.map((p) => p.metadata.name), ["p0", "p1", "p2", "p3"]);
    assert.ok(first.continue);
    // Concurrent changes after the first page:
    await store.update(pods, "default", "p5", (cur) => ({ ...cur, spec: { v: 1 } }));
    await store.delete(pods, "default", "p6");
    await store.create(pods, pod("p45"));
    await store.delete(pods, "default", "p7");
    await store.create(pods, pod("p7", {}, { v: 2 }));
    const rest: KubeObject[] = [];
    let cont: string | undefined = first.continue;
    while (cont) {
      const page = await list(store, pods, { limit: 4, continue: cont });
      assert.equal(page.resourceVersion, first.resourceVersion);
      rest.push(...page.items);
      cont = page.continue;
    }
    assert.deepEqual(rest.map((p) => p.metadata.name), ["p4", "p5", "p6", "p7", "p8", "p9"]);
    assert.deepEqual(rest.map((p) => p.spec.v), [0, 0, 0, 0, 0, 0]);
    // A fresh list sees the new state.
    const now = await list(store, pods, {});
    assert.deepEqual(now.items.map((p) => p.metadata.name), ["p0", "p1", "p2", "p3", "p4", "p45", "p5", "p7", "p8", "p9"]);
  }));

Deno.test("delete() honours preconditions and removes the object", () =>
  withStore(async (store) => {
    const a = await store.create(pods, pod("a"));
    await expectStatus(
      store.delete(pods, "default", "a", {
        precondition: (cur) => {
          if (cur.metadata.resourceVersion !== "1") throw new ApiError({ code: 409, reason: "Conflict" });
        },
      }),
      409,
    );
    const gone = await store.delete(pods, "default", "a");
    assert.equal(gone.metadata.resourceVersion, a.metadata.resourceVersion);
    assert.equal(await store.get(pods, "default", "a"), null);
    await expectStatus(store.delete(pods, "default", "a"), 404, "NotFound");
  }));

async function take(it: AsyncGenerator<WatchEvent>, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const ev of it) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

Deno.test("watch() replays from a resourceVersion, then goes live", () =>
  withStore(async (store) => {
    const hub = new WatchHub(store);
    try {
      const a = await store.create(pods, pod("a"));
      await store.update(pods, "default", "a", (cur) => ({ ...cur, spec: { v: 1 } }));
      const w = hub.watch(pods, { resourceVersion: a.metadata.resourceVersion });
      const got = take(w, 3);
      await store.create(pods, pod("b"));
      await store.delete(pods, "default", "a");
      const evs = await got;
      assert.deepEqual(evs.map((e) => `${e.type} ${e.object.metadata.name}`), ["MODIFIED a", "ADDED b", "DELETED a"]);
      const rvs = evs.map((e) => BigInt(e.object.metadata.resourceVersion!));
      assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2]);
    } finally {
      hub.close();
    }
  }));

Deno.test("watch() without a resourceVersion starts with synthetic ADDED events", () =>
  withStore(async (store) => {
    const hub = new WatchHub(store);
    try {
      await store.create(pods, pod("a"));
      const w = hub.watch(pods, {});
      const got = take(w, 2);
      await store.create(pods, pod("b"));
      assert.deepEqual((await got).map((e) => `${e.type} ${e.object.metadata.name}`), ["ADDED a", "ADDED b"]);
    } finally {
      hub.close();
    }
  }));

Deno.test("watch() with a selector turns objects that stop or start matching into DELETED/ADDED", () =>
  withStore(async (store) => {
    const hub = new WatchHub(store);
    try {
      const a = await store.create(pods, pod("a"));
      const w = hub.watch(pods, {
        resourceVersion: a.metadata.resourceVersion,
        fieldSelector: parseFieldSelector("spec.nodeName=n1"),
      });
      const got = take(w, 3);
      await store.update(pods, "default", "a", (c) => ({ ...c, spec: { nodeName: "n1" } }));
      await store.update(pods, "default", "a", (c) => ({ ...c, spec: { nodeName: "n1", x: 1 } }));
      await store.update(pods, "default", "a", (c) => ({ ...c, spec: { nodeName: "n2" } }));
      assert.deepEqual((await got).map((e) => e.type), ["ADDED", "MODIFIED", "DELETED"]);
    } finally {
      hub.close();
    }
  }));

Deno.test("compact() keeps each object's current version and expires older resourceVersions with 410", () =>
  withStore(async (store, kv) => {
    const hub = new WatchHub(store);
    try {
      const a = await store.create(pods, pod("a"));
      await store.update(pods, "default", "a", (c) => ({ ...c, spec: { v: 1 } }));
      const b = await store.create(pods, pod("b"));
      await store.delete(pods, "default", "b");
      const result = await compact(kv, { retentionMs: 0, now: Date.now() + 1 });
      assert.ok(result.deletedEntries >= 2);
      // The current version of a is still listable at the watermark.
      const listed = await list(store, pods, {});
      assert.deepEqual(listed.items.map((p) => p.metadata.name), ["a"]);
      // A watch from before the watermark is told it expired.
      const evs = await take(hub.watch(pods, { resourceVersion: a.metadata.resourceVersion }), 1);
      assert.equal(evs[0].type, "ERROR");
      assert.equal((evs[0].object as unknown as { code: number }).code, 410);
      void b;
    } finally {
      hub.close();
    }
  }));

Deno.test("compact() keeps five minutes of history by default, then expires it", () =>
  withStore(async (store, kv) => {
    const hub = new WatchHub(store);
    try {
      const a = await store.create(pods, pod("a"));
      await store.update(pods, "default", "a", (c) => ({ ...c, spec: { v: 1 } }));
      await store.update(pods, "default", "a", (c) => ({ ...c, spec: { v: 2 } }));
      // Within the retention nothing is dropped: a watch from the first version replays both updates.
      assert.equal((await compact(kv, { now: Date.now() + 4 * 60_000 })).deletedEntries, 0);
      const replay = await take(hub.watch(pods, { resourceVersion: a.metadata.resourceVersion }), 2);
      assert.deepEqual(replay.map((e) => e.type), ["MODIFIED", "MODIFIED"]);
      // Past five minutes the superseded versions go, and the same watch is told 410 Gone.
      assert.ok((await compact(kv, { now: Date.now() + 5 * 60_000 + 1_000 })).deletedEntries >= 1);
      const evs = await take(hub.watch(pods, { resourceVersion: a.metadata.resourceVersion }), 1);
      assert.equal(evs[0].type, "ERROR");
      assert.equal((evs[0].object as unknown as { code: number }).code, 410);
    } finally {
      hub.close();
    }
  }));

Deno.test("concurrent writes share commits yet get unique, ordered resourceVersions and events", () =>
  withStore(async (store) => {
    const hub = new WatchHub(store);
    try {
      const start = await store.create(pods, pod("first"));
      const created = await Promise.all(Array.from({ length: 50 }, (_, i) => store.create(pods, pod(`p${i}`))));
      const rvs = created.map((p) => BigInt(p.metadata.resourceVersion!));
      assert.equal(new Set(rvs).size, 50);
      // Several writes landed in one commit: their event ids share the commit prefix.
      const commits = new Set(created.map((p) => BigInt(p.metadata.resourceVersion!) >> 16n));
      assert.ok(commits.size < 50, `expected group commits, got ${commits.size} commits for 50 writes`);
      // A watch from the first object's RV sees all 50 in RV order.
      const evs = await take(hub.watch(pods, { resourceVersion: start.metadata.resourceVersion }), 50);
      const seen = evs.map((e) => BigInt(e.object.metadata.resourceVersion!));
      assert.deepEqual(seen, [...seen].sort((a, b) => (a < b ? -1 : 1)));
      assert.deepEqual(new Set(evs.map((e) => e.object.metadata.name)), new Set(created.map((p) => p.metadata.name)));
      // Resuming from the middle of a shared commit delivers exactly the rest.
      const mid = evs[24].object.metadata.resourceVersion;
      const rest = await take(hub.watch(pods, { resourceVersion: mid }), 25);
      assert.deepEqual(rest.map((e) => e.object.metadata.name), evs.slice(25).map((e) => e.object.metadata.name));
    } finally {
      hub.close();
    }
  }));

Deno.test("a write whose check fails does not fail the writes batched with it", () =>
  withStore(async (store) => {
    await store.create(pods, pod("taken"));
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => store.create(pods, pod(`ok${i}`))),
      store.create(pods, pod("taken")),
      ...Array.from({ length: 10 }, (_, i) => store.create(pods, pod(`ok${i + 10}`))),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 20);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal(rejected.reason.code, 409);
    assert.equal((await list(store, pods, {})).items.length, 21);
  }));

Deno.test("big and small objects written together are all read back whole, and survive compaction", () =>
  withStore(async (store, kv) => {
    const big = (n: number) => "x".repeat(n);
    const written = await Promise.all([
      store.create(pods, pod("b1", {}, { big: big(200_000) })),
      store.create(pods, pod("s1", {}, { small: big(30_000) })),
      store.create(pods, pod("s2", {}, { small: big(30_000) })),
      store.create(pods, pod("s3", {}, { small: big(30_000) })),
    ]);
    assert.equal(written.length, 4);
    await Promise.all(["s1", "s2", "s3"].map((n) => store.update(pods, "default", n, (c) => ({ ...c, spec: { v: 2 } }))));
    await store.delete(pods, "default", "b1");
    await compact(kv, { retentionMs: 0, now: Date.now() + 1 });
    const items = (await list(store, pods, {})).items;
    assert.deepEqual(items.map((p) => p.metadata.name), ["s1", "s2", "s3"]);
    assert.ok(items.every((p) => p.spec.v === 2));
  }));

Deno.test("a burst of writes with many labels never overflows one log value", () =>
  withStore(async (store) => {
    const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`label-number-${i}`, `value-${i}-${"x".repeat(30)}`]));
    const made = await Promise.all(Array.from({ length: 200 }, (_, i) => store.create(pods, pod(`l${i}`, labels))));
    await Promise.all(made.map((p) => store.update(pods, "default", p.metadata.name!, (c) => ({ ...c, spec: { v: 1 } }))));
    assert.equal((await list(store, pods, {})).items.length, 200);
  }));

Deno.test("a value transformer sees every stored version, and reads undo it", () =>
  withStore(async (_store, kv) => {
    const flip = (b: Uint8Array) => b.map((x) => x ^ 0x5a);
    const store = new Store(kv, { transformer: { toStorage: (_r, b) => flip(b), fromStorage: (_r, b) => flip(b) } });
    const hub = new WatchHub(store);
    try {
      const secret = "very-secret-value";
      const a = await store.create(pods, pod("s", {}, { secret }));
      await store.update(pods, "default", "s", (c) => ({ ...c, spec: { secret: secret + "2" } }));
      assert.equal((await store.get(pods, "default", "s"))!.spec.secret, secret + "2");
      const evs = await take(hub.watch(pods, { resourceVersion: a.metadata.resourceVersion }), 1);
      assert.equal(evs[0].object.spec.secret, secret + "2");
      // Nothing under any key holds the plaintext.
      for await (const e of kv.list({ prefix: [] })) {
        const text = JSON.stringify(e.value, (_k, v) => v instanceof Uint8Array ? new TextDecoder().decode(v) : v);
        assert.ok(!text.includes(secret), `plaintext under ${JSON.stringify(e.key)}`);
      }
    } finally {
      hub.close();
    }
  }));

Deno.test("the store reports each commit to its listeners and remembers the last event per resource", async () => {
  await withStore(async (store) => {
    assert.equal(store.lastWritten(pods.key), null);
    const seen: [string, string][] = [];
    const stop = store.onCommit((res, ev) => seen.push([res, ev]));
    const created = await Promise.all([store.create(pods, pod("a")), store.create(pods, pod("b"))]);
    const evs = created.map((o) => toEventId(o.metadata.resourceVersion!)!).sort();
    assert.equal(store.lastWritten(pods.key), evs[1]);
    assert.ok(seen.length >= 1 && seen.every(([res]) => res === pods.key));
    assert.equal(seen[seen.length - 1][1], evs[1], "the listener hears of the newest event of each commit");
    stop();
    await store.delete(pods, "default", "a");
    assert.equal(seen[seen.length - 1][1], evs[1], "an unsubscribed listener hears nothing more");
    assert.ok(store.lastWritten(pods.key)! > evs[1]);
  });
});
