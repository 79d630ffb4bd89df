/**
 * Re-encryption: rewrites every stored object of the encrypted resources that is not written with
 * the current primary key (or not encrypted at all), as a MODIFIED write with a new
 * resourceVersion (the object itself is unchanged; watchers see one MODIFIED event, as after
 * upstream's storage migration). Each rewrite is one atomic commit of the object and its log
 * entry, checked against the version it read, so it is safe next to other writers. Then the change
 * log is compacted to the present, so that no older version encrypted with a retired key remains;
 * the result counts what still uses each key name.
 * @module
 */
import { type ResourceDef, resourceKey, selectableFields } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { Committer } from "../../store/committer.ts";
import { CHUNK, HEAD, LOG, OBJECT } from "../../store/keys.ts";
import type { LogEntry } from "../../store/log.ts";
import { compact, Store, type StoreResource } from "../../store/mod.ts";
import { builtinResources } from "../registry/mod.ts";
import { type EncryptionTransformer, keyNameOf } from "./aes_gcm.ts";

export interface ReencryptResult {
  /** Objects rewritten with the primary key, by resource. */
  rewritten: Record<string, number>;
  /** Stored values (objects and logged versions) of the encrypted resources by key name (`identity` for plaintext), after. */
  inUse: Record<string, number>;
}

/** The resources with stored data (their head keys). */
async function storedResources(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const e of kv.list({ prefix: [HEAD] })) if (e.key[1] !== "*") out.push(e.key[1] as string);
  return out;
}

function storeResource(key: string, defs: Map<string, ResourceDef>): StoreResource {
  const def = defs.get(key);
  const dot = key.indexOf(".");
  const gr = { group: dot < 0 ? "" : key.slice(dot + 1), resource: dot < 0 ? key : key.slice(0, dot) };
  return {
    key,
    gr,
    fields: (obj: KubeObject) =>
      def
        ? selectableFields(def, obj)
        : { "metadata.name": obj.metadata.name ?? "", "metadata.namespace": obj.metadata.namespace ?? "" },
  };
}

/**
 * Rewrites the stale objects of every resource `transformer` covers, then (unless
 * `compactLog: false`) compacts the whole change log to `now`.
 */
export async function reencrypt(
  kv: Deno.Kv,
  transformer: EncryptionTransformer,
  opts: { compactLog?: boolean; now?: number } = {},
): Promise<ReencryptResult> {
  const store = new Store(kv, { transformer, decodedCacheBytes: 0 });
  const committer = new Committer(kv);
  const defs = new Map(builtinResources().map((d) => [resourceKey(d), d]));
  const resources = (await storedResources(kv)).filter((r) => transformer.covers(r)).map((r) =>
    storeResource(r, defs)
  );
  const rewritten: Record<string, number> = {};
  for (const res of resources) {
    const names: [string, string][] = [];
    for await (const e of kv.list({ prefix: [OBJECT, res.key] })) {
      names.push([e.key[2] as string, e.key[3] as string]);
    }
    for (const [ns, name] of names) {
      for (let attempt = 0; attempt < 16; attempt++) {
        const cur = await store.read(res, ns, name);
        if (!cur || !transformer.isStale(res.key, cur.bytes)) break;
        const bytes = transformer.toStorage(res.key, transformer.fromStorage(res.key, cur.bytes));
        const entry: Omit<LogEntry, "x" | "o" | "c"> = {
          t: "M",
          ns,
          n: name,
          p: cur.ev,
          pl: cur.obj.metadata.labels ?? {},
          pf: res.fields(cur.obj),
          ts: opts.now ?? Date.now(),
        };
        const out = await committer.submit({
          res: res.key,
          ns,
          name,
          expect: cur.kvVs,
          bytes,
          entry,
          checks: [],
        });
        if (out.ok) {
          rewritten[res.key] = (rewritten[res.key] ?? 0) + 1;
          break;
        }
      }
    }
  }
  if (opts.compactLog !== false) await compact(kv, { retentionMs: 0, now: (opts.now ?? Date.now()) + 1 });
  return { rewritten, inUse: await keysInUse(kv, resources.map((r) => r.key)) };
}

/** Counts the stored values of `resources` (objects, logged versions, first chunks) by key name. */
export async function keysInUse(kv: Deno.Kv, resources: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const count = (bytes: Uint8Array | undefined) => {
    if (!bytes) return;
    const name = keyNameOf(bytes) ?? "identity";
    counts[name] = (counts[name] ?? 0) + 1;
  };
  for (const res of resources) {
    for await (const e of kv.list<{ b?: Uint8Array }>({ prefix: [OBJECT, res] })) count(e.value.b);
    for await (const e of kv.list<LogEntry[]>({ prefix: [LOG, res] })) for (const le of e.value) count(le.o);
    for await (const e of kv.list<Uint8Array>({ prefix: [CHUNK, res] })) if (e.key[4] === 0) count(e.value);
  }
  return counts;
}
