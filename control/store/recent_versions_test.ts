import assert from "node:assert/strict";
import { ApiError, conflict, STALE_OBJECT } from "../api/status.ts";
import type { KubeObject } from "../api/types.ts";
import { Store, type StoreResource } from "./mod.ts";
import { eventId } from "./keys.ts";
import { RecentVersions } from "./recent_versions.ts";

const pods: StoreResource = {
  key: "pods",
  gr: { group: "", resource: "pods" },
  fields: (o) => ({
    "metadata.name": o.metadata.name ?? "",
    "metadata.namespace": o.metadata.namespace ?? "",
  }),
};

function pod(name: string, n: number): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { n } };
}

/** Two stores on one KV: each keeps its own recent versions, so one's becomes stale when the other writes. */
async function withTwoStores(fn: (a: Store, b: Store) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new Store(kv), new Store(kv));
  } finally {
    kv.close();
  }
}

/** Counts the object reads a store makes (kv.get of the object key). */
function countReads(kv: Deno.Kv): { reads: number; restore(): void } {
  const get = kv.get.bind(kv);
  const counter = {
    reads: 0,
    restore: () => void (kv.get = get),
  };
  kv.get = ((key: Deno.KvKey, opts?: { consistency?: Deno.KvConsistencyLevel }) => {
    if (key[0] === "o") counter.reads++;
    return get(key, opts);
  }) as typeof kv.get;
  return counter;
}

Deno.test("update() of an object this store just wrote commits without reading it first", () =>
  withTwoStores(async (a) => {
    await a.create(pods, pod("p", 0));
    const reads = countReads(a.kv);
    try {
      const updated = await a.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 1 } }));
      assert.equal(updated.spec.n, 1);
      assert.equal(reads.reads, 0);
    } finally {
      reads.restore();
    }
    assert.equal((await a.get(pods, "default", "p"))!.spec.n, 1);
  }));

Deno.test("update() from a version another store replaced reruns tryUpdate on the stored one", () =>
  withTwoStores(async (a, b) => {
    await a.create(pods, pod("p", 0));
    const byB = await b.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 10 } }));
    const seen: number[] = [];
    const byA = await a.update(pods, "default", "p", (cur) => {
      seen.push(cur.spec.n);
      return { ...cur, spec: { n: cur.spec.n + 1 } };
    });
    assert.deepEqual(seen, [0, 10]);
    assert.equal(byA.spec.n, 11);
    assert.ok(BigInt(byA.metadata.resourceVersion!) > BigInt(byB.metadata.resourceVersion!));
    assert.equal((await b.get(pods, "default", "p"))!.spec.n, 11);
  }));

Deno.test("update() judges a no-op against the stored version, not a stale one", () =>
  withTwoStores(async (a, b) => {
    await a.create(pods, pod("p", 0));
    await b.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 5 } }));
    // Equal to a's last version, not to the stored one: it must be written.
    const back = await a.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 0 } }));
    assert.equal((await b.get(pods, "default", "p"))!.spec.n, 0);
    assert.equal(
      (await b.get(pods, "default", "p"))!.metadata.resourceVersion,
      back.metadata.resourceVersion,
    );
  }));

Deno.test("update() confirms tryUpdate's error against the stored version before returning it", () =>
  withTwoStores(async (a, b) => {
    await a.create(pods, pod("p", 0));
    const byB = await b.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 1 } }));
    // A client's resourceVersion precondition naming b's write: a's stale version fails it once.
    const wanted = byB.metadata.resourceVersion;
    const precondition = (cur: KubeObject) => {
      if (cur.metadata.resourceVersion !== wanted) throw conflict(pods.gr, "p", STALE_OBJECT);
      return { ...cur, spec: { n: 2 } };
    };
    assert.equal((await a.update(pods, "default", "p", precondition)).spec.n, 2);
    // When the stored version is the one tried, the error stands.
    await assert.rejects(
      a.update(pods, "default", "p", precondition),
      (e) => e instanceof ApiError && e.code === 409,
    );
  }));

Deno.test("update() of an object another store deleted is 404", () =>
  withTwoStores(async (a, b) => {
    await a.create(pods, pod("p", 0));
    await b.delete(pods, "default", "p");
    await assert.rejects(
      a.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 1 } })),
      (e) => e instanceof ApiError && e.code === 404,
    );
  }));

Deno.test("update() with readOnlyCurrent hands over the shared decoded object, otherwise a copy", () =>
  withTwoStores(async (a) => {
    await a.create(pods, pod("p", 0));
    await a.update(pods, "default", "p", (cur) => ({ ...cur, spec: { n: 1 } }));
    const stored = (await a.get(pods, "default", "p"))!;
    let given: KubeObject | undefined;
    await a.update(pods, "default", "p", (cur) => (given = cur));
    assert.notEqual(given, stored);
    assert.deepEqual(given, stored);
    await a.update(pods, "default", "p", (cur) => (given = cur), { readOnlyCurrent: true });
    assert.equal(given, stored);
  }));

Deno.test("RecentVersions keeps the most recently written versions within its byte bound", () => {
  const recent = new RecentVersions(8 * 1000);
  const vs = (i: number) => i.toString(16).padStart(20, "0");
  const v = (i: number, fill = i) => ({
    kvVs: vs(i),
    ev: eventId(vs(i), 3),
    bytes: new Uint8Array(1000).fill(fill),
  });
  for (let i = 0; i < 10; i++) recent.set(`k${i}`, v(i));
  // The ring holds eight versions; the ninth and tenth took the places of the two oldest.
  assert.equal(recent.size, 8);
  assert.equal(recent.get("k0"), undefined);
  assert.equal(recent.get("k1"), undefined);
  const k9 = recent.get("k9")!;
  assert.equal(k9.kvVs, vs(9));
  assert.equal(k9.ev, eventId(vs(9), 3));
  assert.deepEqual(k9.bytes, new Uint8Array(1000).fill(9));
  assert.deepEqual(recent.get("k2")!.bytes, new Uint8Array(1000).fill(2));
  // Writing an object again makes it the newest (here in its own old place); the next write takes
  // the place of the oldest left.
  recent.set("k2", v(20));
  assert.equal(recent.get("k2")?.kvVs, vs(20));
  assert.deepEqual(recent.get("k2")!.bytes, new Uint8Array(1000).fill(20));
  assert.deepEqual(recent.get("k3")!.bytes, new Uint8Array(1000).fill(3));
  recent.set("k10", v(10));
  assert.equal(recent.get("k3"), undefined);
  assert.equal(recent.size, 8);
  assert.deepEqual(recent.get("k4")!.bytes, new Uint8Array(1000).fill(4));
  recent.delete("k2");
  assert.equal(recent.get("k2"), undefined);
  // A version larger than an eighth of the bound is not kept.
  recent.set("big", { kvVs: vs(1), ev: eventId(vs(1), 0), bytes: new Uint8Array(2000) });
  assert.equal(recent.get("big"), undefined);
  // The bytes handed out are a copy: changing them changes nothing kept.
  recent.get("k4")!.bytes.fill(0);
  assert.deepEqual(recent.get("k4")!.bytes, new Uint8Array(1000).fill(4));
});

Deno.test("RecentVersions keeps versions of mixed sizes intact across many laps of its ring", () => {
  const recent = new RecentVersions(10_000);
  const vs = (i: number) => i.toString(16).padStart(20, "0");
  const sizes = (i: number) => 1 + ((i * 7919) % 1200);
  const written = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    const key = `k${i % 37}`;
    recent.set(key, {
      kvVs: vs(i),
      ev: eventId(vs(i), i % 5),
      bytes: new Uint8Array(sizes(i)).fill(i % 251),
    });
    written.set(key, i);
    if (i % 11 === 0) {
      recent.delete(`k${(i * 3) % 37}`);
      written.delete(`k${(i * 3) % 37}`);
    }
    let kept = 0;
    for (const [k, j] of written) {
      const got = recent.get(k);
      if (!got) continue;
      kept++;
      assert.equal(got.ev, eventId(vs(j), j % 5));
      assert.equal(got.bytes.length, sizes(j));
      assert.ok(got.bytes.every((b) => b === j % 251), `${k} from write ${j} is intact`);
    }
    assert.equal(kept, recent.size);
  }
  // The bound is bytes: with versions of ~600 bytes on average, a ring of 10,000 keeps several.
  assert.ok(recent.size >= 5, `kept ${recent.size}`);
});

Deno.test("RecentVersions keeps thousands of small versions, each write's own, as its slots grow", () => {
  const recent = new RecentVersions(1 << 20);
  const vs = (i: number) => i.toString(16).padStart(20, "0");
  // 3,000 objects written twice (6,000 slots, the first writes replaced), well within the bytes.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3000; i++) {
      const w = round * 3000 + i;
      recent.set(`k${i}`, {
        kvVs: vs(w),
        ev: eventId(vs(w), w % 7),
        bytes: new Uint8Array(10).fill(w % 251),
      });
    }
  }
  assert.equal(recent.size, 3000);
  for (let i = 0; i < 3000; i++) {
    const w = 3000 + i;
    const got = recent.get(`k${i}`)!;
    assert.equal(got.kvVs, vs(w));
    assert.equal(got.ev, eventId(vs(w), w % 7));
    assert.deepEqual(got.bytes, new Uint8Array(10).fill(w % 251));
  }
  recent.delete("k5");
  assert.equal(recent.get("k5"), undefined);
  assert.equal(recent.size, 2999);
});
