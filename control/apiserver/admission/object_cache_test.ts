import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { Store, type StoreResource, WatchHub } from "../../store/mod.ts";
import { ObjectCache } from "./object_cache.ts";

const accounts: StoreResource = {
  key: "serviceaccounts",
  gr: { group: "", resource: "serviceaccounts" },
  fields: (o) => ({
    "metadata.name": o.metadata.name ?? "",
    "metadata.namespace": o.metadata.namespace ?? "",
  }),
};

const account = (name: string, uid: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: "default", uid },
});

Deno.test("ObjectCache never misses a write this process committed, even before its watch catches up", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new Store(kv);
  const hub = new WatchHub(store);
  try {
    const cache = new ObjectCache(store, hub, accounts);
    await store.create(accounts, account("builder", "u1"));
    assert.equal((await cache.get("default", "builder"))?.metadata.uid, "u1");
    // Let the cache list and follow the feed.
    for (let i = 0; i < 100 && (await cache.list("default")).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 50));
    for (let round = 0; round < 20; round++) {
      await store.update(
        accounts,
        "default",
        "builder",
        (cur) => ({ ...cur, metadata: { ...cur.metadata, uid: `u${round + 2}` } }),
      );
      assert.equal((await cache.get("default", "builder"))?.metadata.uid, `u${round + 2}`, `update ${round}`);
    }
    await store.delete(accounts, "default", "builder");
    assert.equal(await cache.get("default", "builder"), null, "a deletion is seen at once");
    assert.deepEqual(await cache.list("default"), []);
    await store.create(accounts, account("builder", "u99"));
    assert.equal((await cache.get("default", "builder"))?.metadata.uid, "u99", "so is a re-creation");
  } finally {
    hub.close();
    kv.close();
  }
});
