import assert from "node:assert/strict";
import type { KubeObject } from "../api/types.ts";
import { DecodedCache } from "./decoded_cache.ts";

const obj = (n: number) =>
  ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `o${n}` } }) as KubeObject;

Deno.test("DecodedCache evicts the least recently used versions past its byte bound", () => {
  const cache = new DecodedCache(8 * 100);
  for (let i = 0; i < 8; i++) cache.set(`k${i}`, obj(i), 100);
  assert.equal(cache.size, 8);
  // Reading k0 makes it the most recently used: k1 goes first.
  assert.equal(cache.get("k0")?.metadata.name, "o0");
  cache.set("k8", obj(8), 100);
  assert.equal(cache.get("k1"), undefined);
  assert.ok(cache.get("k0"));
  cache.set("k9", obj(9), 100);
  assert.equal(cache.get("k2"), undefined);
  assert.equal(cache.size, 8);
  assert.deepEqual(
    ["k0", "k3", "k8", "k9"].map((k) => cache.get(k)?.metadata.name),
    ["o0", "o3", "o8", "o9"],
  );
  // A version larger than an eighth of the bound is not kept.
  cache.set("big", obj(10), 101);
  assert.equal(cache.get("big"), undefined);
});

Deno.test("DecodedCache keeps exactly the most recently used entries over many evictions and reads", () => {
  const bound = 50;
  const cache = new DecodedCache(bound * 10);
  // A reference LRU: a Map re-inserted on every use, trimmed from its front.
  const ref = new Map<string, number>();
  const use = (k: string, n: number) => {
    ref.delete(k);
    ref.set(k, n);
    while (ref.size > bound) ref.delete(ref.keys().next().value!);
  };
  for (let i = 0; i < 20_000; i++) {
    const k = `k${i}`;
    cache.set(k, obj(i), 10);
    use(k, i);
    // Read back some recent and some old keys, as lists and watch feeds do.
    for (const j of [i - 3, i - 17, i - 49, i - 60]) {
      if (j < 0) continue;
      const got = cache.get(`k${j}`);
      assert.equal(got !== undefined, ref.has(`k${j}`), `k${j} after write ${i}`);
      if (got) use(`k${j}`, j);
    }
    assert.equal(cache.size, ref.size);
  }
  for (const [k, n] of ref) assert.equal(cache.get(k)?.metadata.name, `o${n}`);
});
