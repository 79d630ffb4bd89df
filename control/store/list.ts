/**
 * Consistent lists over the store.
 *
 * A list is served as of one resourceVersion (the "list RV"): objects written after it are rewound
 * through the change log to the version they had at that RV, and objects deleted after it are
 * restored from their DELETED entries. `limit`/`continue` pages therefore all show one view, as
 * etcd's MVCC does. A continue token whose RV has been compacted gets 410 Expired.
 * @module
 */
import { matchesFields, matchesLabels } from "../api/selector.ts";
import type { FieldSelector, LabelSelector } from "../api/selector.ts";
import { ApiError, badRequest, gone, internalError } from "../api/status.ts";
import type { KubeObject } from "../api/types.ts";
import { after, commitOf, eventId, LOG, logKey, OBJECT, toResourceVersion } from "./keys.ts";
import { retryLocked } from "./kv_retry.ts";
import { entriesOf, entryBytes, type LogEntry, type ObjectValue, readEntry } from "./log.ts";
import { Store, type StoreResource } from "./store.ts";

export interface ListOptions {
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

interface ContinueToken {
  v: string;
  ns: string;
  n: string;
}

const CONTINUE_EXPIRED = "The provided continue parameter is too old to display a consistent list result. " +
  "You can start a new list without the continue parameter, or use the continue token in this response to " +
  "retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - " +
  "objects that were created, modified, or deleted between the time the first chunk was returned and now may " +
  "show up in the list.";

function encodeContinue(t: ContinueToken): string {
  return btoa(JSON.stringify(t)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(atob(s.replaceAll("-", "+").replaceAll("_", "/")));
    if (typeof t.v === "string" && typeof t.ns === "string" && typeof t.n === "string") return t;
  } catch { /* fall through */ }
  throw badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
}

/** Lists objects of `res`, consistent as of one resourceVersion. */
export async function list(store: Store, res: StoreResource, opts: ListOptions = {}): Promise<ListResult> {
  const kv = store.kv;
  let listVs: string;
  let startAfter: [string, string] | null = null;
  if (opts.continue) {
    const token = decodeContinue(opts.continue);
    listVs = token.v;
    startAfter = [token.ns, token.n];
    if (listVs < await store.watermark(res)) throw gone(CONTINUE_EXPIRED);
  } else if (opts.resourceVersion && opts.resourceVersion !== "0") {
    const vs = Store.eventIdOf(opts.resourceVersion);
    const head = await store.head(res);
    if (opts.resourceVersionMatch === "Exact") {
      if (vs < await store.watermark(res)) {
        throw gone(`too old resource version: ${opts.resourceVersion} (${toResourceVersion(await store.watermark(res))})`);
      }
      listVs = vs;
    } else listVs = head;
    if (vs > head) await waitForHead(store, res, vs, opts.resourceVersion);
  } else {
    listVs = await store.head(res);
  }
  if (opts.resourceVersionMatch && !["Exact", "NotOlderThan"].includes(opts.resourceVersionMatch)) {
    throw badRequest(`resourceVersionMatch: Unsupported value: "${opts.resourceVersionMatch}"`);
  }

  const ns = opts.namespace;
  const prefix: Deno.KvKey = ns !== undefined ? [OBJECT, res.key, ns] : [OBJECT, res.key];
  const deleted = await deletedSince(kv, res, listVs, ns, startAfter);
  const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
  const items: KubeObject[] = [];
  let last: [string, string] | null = null;
  let more = false;

  const selector = (obj: KubeObject) =>
    (!opts.labelSelector?.length || matchesLabels(opts.labelSelector, obj.metadata.labels)) &&
    (!opts.fieldSelector?.length || matchesFields(opts.fieldSelector, res.fields(obj)));

  const take = (obj: KubeObject | null, key: [string, string]): boolean => {
    if (items.length >= limit) {
      more = true;
      return false;
    }
    if (obj && selector(obj)) {
      items.push(obj);
      last = key;
    }
    return true;
  };

  const selectorStart: Deno.KvListSelector = startAfter
    ? {
      prefix,
      start: ns !== undefined
        ? [OBJECT, res.key, ns, after(startAfter[1])]
        : [OBJECT, res.key, startAfter[0], after(startAfter[1])],
    }
    : { prefix };
  let di = 0;
  const iter = kv.list<ObjectValue>(selectorStart, { batchSize: 1000 });
  outer: while (true) {
    const next = await retryLocked(() => iter.next());
    const entry = next.done ? null : next.value;
    const key: [string, string] | null = entry ? [entry.key[2] as string, entry.key[3] as string] : null;
    // Objects deleted after the list RV, in key order before this one.
    while (di < deleted.length && (key === null || compareKey(deleted[di].key, key) < 0)) {
      const d = deleted[di++];
      if (!take(await stateFromDeleted(store, res, d.entries, listVs), d.key)) break outer;
    }
    if (!entry || !key) break;
    const ev = eventId(entry.versionstamp, entry.value.x);
    let obj: KubeObject | null;
    if (ev <= listVs) {
      obj = (await store.materialize(res.key, entry))?.obj ?? null;
      if (!obj) obj = await rewind(store, res, key, ev, listVs);
    } else {
      obj = await rewind(store, res, key, ev, listVs);
      const d = deleted[di]?.key;
      if (!obj && d && compareKey(d, key) === 0) obj = await stateFromDeleted(store, res, deleted[di].entries, listVs);
    }
    if (deleted[di] && compareKey(deleted[di].key, key) === 0) di++;
    if (!take(obj, key)) break;
  }
  const result: ListResult = { items, resourceVersion: toResourceVersion(listVs) };
  if (more && last) result.continue = encodeContinue({ v: listVs, ns: last[0], n: last[1] });
  return result;
}

function compareKey(a: [string, string], b: [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

interface DeletedKey {
  key: [string, string];
  /** DELETED entries of this key after the list RV, oldest first, with their versionstamps. */
  entries: { vs: string; e: LogEntry }[];
}

/** DELETED log entries after `listVs`, grouped by object key, sorted by key. */
async function deletedSince(
  kv: Deno.Kv,
  res: StoreResource,
  listVs: string,
  ns: string | undefined,
  startAfter: [string, string] | null,
): Promise<DeletedKey[]> {
  const byKey = new Map<string, DeletedKey>();
  const iter = kv.list<LogEntry[]>({ prefix: [LOG, res.key], start: logKey(res.key, commitOf(listVs)) }, {
    batchSize: 1000,
  });
  for await (const entry of iter) {
    for (const { ev, e } of entriesOf(entry.key[2] as string, entry.value)) {
      if (ev <= listVs || e.t !== "D") continue;
      if (ns !== undefined && e.ns !== ns) continue;
      const key: [string, string] = [e.ns, e.n];
      if (startAfter && compareKey(key, startAfter) <= 0) continue;
      const id = `${e.ns}\u0000${e.n}`;
      let d = byKey.get(id);
      if (!d) byKey.set(id, d = { key, entries: [] });
      d.entries.push({ vs: ev, e });
    }
  }
  return [...byKey.values()].sort((a, b) => compareKey(a.key, b.key));
}

/** The state at `listVs` of an object now at version `ev` (> listVs), walking back the log. */
async function rewind(
  store: Store,
  res: StoreResource,
  key: [string, string],
  ev: string,
  listVs: string,
): Promise<KubeObject | null> {
  let cur = ev;
  while (cur > listVs) {
    const e = await readEntry(store.kv, res.key, cur);
    if (!e) throw gone(CONTINUE_EXPIRED);
    if (!e.p) return null; // created after the list RV
    cur = e.p;
  }
  return await versionAt(store, res, key, cur);
}

/** The object version written at `ev`, read from its log entry. */
async function versionAt(
  store: Store,
  res: StoreResource,
  key: [string, string],
  ev: string,
): Promise<KubeObject> {
  const e = await readEntry(store.kv, res.key, ev);
  if (!e) throw gone(CONTINUE_EXPIRED);
  const bytes = await entryBytes(store.kv, res.key, ev, e);
  if (!bytes) throw internalError(`chunks of ${res.key} ${key.join("/")} at ${ev} are missing`);
  return store.decodeBytes(res.key, bytes, toResourceVersion(ev));
}

/** The state at `listVs` of an object deleted after it (possibly re-created since). */
async function stateFromDeleted(
  store: Store,
  res: StoreResource,
  entries: { vs: string; e: LogEntry }[],
  listVs: string,
): Promise<KubeObject | null> {
  // The first deletion after the list RV ended the incarnation that was alive at the list RV.
  const { vs, e } = entries[0];
  if (e.p! <= listVs) {
    const bytes = await entryBytes(store.kv, res.key, vs, e);
    if (!bytes) throw gone(CONTINUE_EXPIRED);
    return store.decodeBytes(res.key, bytes, toResourceVersion(e.p!));
  }
  return await rewind(store, res, [e.ns, e.n], e.p!, listVs);
}

/** Waits briefly for a resourceVersion from the future, as upstream does, then gives up with 504. */
async function waitForHead(store: Store, res: StoreResource, vs: string, rv: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if (await store.head(res) >= vs) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new ApiError({
    code: 504,
    reason: "Timeout",
    message: `Too large resource version: ${rv}, current: ${toResourceVersion(await store.head(res))}`,
    details: { retryAfterSeconds: 1 },
  });
}
