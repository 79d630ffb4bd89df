import assert from "node:assert/strict";
import type { KubeObject, WatchEvent } from "../api/types.ts";
import { LOG } from "./keys.ts";
import { Store, type StoreResource, WatchHub } from "./mod.ts";

const cms: StoreResource = {
  key: "configmaps",
  gr: { group: "", resource: "configmaps" },
  fields: (o) => ({ "metadata.name": o.metadata.name ?? "", "metadata.namespace": o.metadata.namespace ?? "" }),
};

function cm(name: string): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data: { k: name } };
}

/** Counts the change-log scans made through `kv.list` (the watch feeds' reads). */
function countLogReads(kv: Deno.Kv): { reads: number } {
  const counter = { reads: 0 };
  const list = kv.list.bind(kv);
  kv.list = ((selector: Deno.KvListSelector, opts?: Deno.KvListOptions) => {
    if ("prefix" in selector && selector.prefix[0] === LOG) counter.reads++;
    return list(selector, opts);
  }) as typeof kv.list;
  return counter;
}

async function take(it: AsyncGenerator<WatchEvent>, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const ev of it) {
    out.push(`${ev.type} ${ev.object.metadata.name} ${ev.object.metadata.resourceVersion}`);
    if (out.length === n) break;
  }
  return out;
}

Deno.test("a watch gets this process's writes in order without reading them back from the change log", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new Store(kv);
  const hub = new WatchHub(store, { pollIntervalMs: 0 });
  try {
    const first = await store.create(cms, cm("a-0"));
    const w = hub.watch(cms, { resourceVersion: first.metadata.resourceVersion });
    const counter = countLogReads(kv);
    const got = take(w, 21);
    const written: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const c = await store.create(cms, cm(`a-${i}`));
      written.push(`ADDED a-${i} ${c.metadata.resourceVersion}`);
    }
    const u = await store.update(cms, "default", "a-1", (o) => ({ ...o, data: { k: "changed" } }));
    written.push(`MODIFIED a-1 ${u.metadata.resourceVersion}`);
    assert.deepEqual(await got, written);
    assert.equal(counter.reads, 0, "every event came from its commit, none from a read of the log");
  } finally {
    hub.close();
    kv.close();
  }
});

Deno.test("another writer's commit between two of ours reaches the watch in order, and ours still commit", async () => {
  const kv = await Deno.openKv(":memory:");
  const ours = new Store(kv);
  const other = new Store(kv); // another committer on the same KV, as a second API server would be
  const hub = new WatchHub(ours, { pollIntervalMs: 5 });
  try {
    const first = await ours.create(cms, cm("a-1"));
    const w = hub.watch(cms, { resourceVersion: first.metadata.resourceVersion });
    const counter = countLogReads(kv);
    const got = take(w, 4);
    const expected: string[] = [];
    for (const [store, name] of [[ours, "a-2"], [other, "b-1"], [ours, "a-3"], [ours, "a-4"]] as const) {
      const c = await store.create(cms, cm(name));
      expected.push(`ADDED ${name} ${c.metadata.resourceVersion}`);
    }
    assert.deepEqual(await got, expected);
    assert.ok(counter.reads > 0, "the other writer's entry was read from the log");
    // Our head check failed once; the commit went again without it and the object is there.
    assert.equal((await ours.get(cms, "default", "a-3"))?.data?.k, "a-3");
  } finally {
    hub.close();
    kv.close();
  }
});
