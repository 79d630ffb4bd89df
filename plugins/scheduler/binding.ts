/**
 * The scheduler kind's binding: the projected records of control/api/plugins.ts ↔ the WIT
 * records of `skiff:scheduler@0.2.0` (and 0.1.0, binding_v0_1.ts). `cycle` runs in the runner:
 * the plugin's filter over the given nodes and/or its score over those that passed (the
 * scheduler asks for one or both per call: filter on the nodes its built-in filters kept, score
 * on the feasible ones), and refuses malformed answers (wrong lengths, unknown codes, scores
 * outside [0, 100], rejections of nodes not in the cycle).
 *
 * A 0.2.0 guest keeps the nodes between cycles (guest_nodes.ts): a cycle first puts the nodes
 * the instance does not hold as they are now (`put-nodes`, usually none or the one node the
 * previous pod was placed on), then makes ONE `filter-and-score` call with the pod and the
 * nodes' handles. A fresh instance (after a recycle) holds nothing and gets every node again.
 *
 * Nodes come by name (the plugin host's calls: full records and references by name) or, on the
 * direct path, by slot (`[start, count]` ranges into the calling scheduler's slot table here,
 * with the nodes it sends in full put into their slots first).
 * @module
 */
import {
  cachedNodeName,
  type CachedNodeRef,
  type NodeRecord,
  type PodRecord,
  MAX_SLOTS,
  type RejectionRecord,
  type SlotRange,
} from "../../control/api/plugins.ts";
import { type GuestOps, MalformedResult } from "../host/protocol.ts";
import { CODES, type CycleAnswer, type Phases } from "./binding_types.ts";
import { cycleV01 } from "./binding_v0_1.ts";
import { type CycleNode, GuestNodes } from "./guest_nodes.ts";

const label = ([key, value]: [string, string]) => ({ key, value });

/** PodRecord → WIT pod-view (u64 as BigInt, as jco lowers them). Pure. */
export function witPod(p: PodRecord): Record<string, unknown> {
  return {
    namespace: p.namespace,
    name: p.name,
    uid: p.uid,
    labels: p.labels.map(label),
    nodeSelector: p.nodeSelector.map(label),
    milliCpu: BigInt(Math.max(0, Math.trunc(p.milliCpu))),
    memory: BigInt(Math.max(0, Math.trunc(p.memory))),
    priority: p.priority | 0,
    images: p.images,
    runtimeClass: p.runtimeClass ?? undefined,
  };
}

/** NodeRecord → WIT node-view. Pure. */
export function witNode(n: NodeRecord): Record<string, unknown> {
  const u = (x: number) => BigInt(Math.max(0, Math.trunc(x)));
  return {
    name: n.name,
    labels: n.labels.map(label),
    unschedulable: n.unschedulable,
    taints: n.taints,
    allocatableMilliCpu: u(n.allocatableMilliCpu),
    allocatableMemory: u(n.allocatableMemory),
    requestedMilliCpu: u(n.requestedMilliCpu),
    requestedMemory: u(n.requestedMemory),
    podCount: n.podCount >>> 0,
    images: n.images.map((i) => ({ names: i.names, sizeBytes: u(i.sizeBytes) })),
  };
}

/**
 * The runner's node caches, one per caller: every node it was sent, by name, as last sent, with
 * its WIT record. The plugin host's calls (on stdin) use {@linkcode HOST_CACHE}; each scheduler
 * calling on the direct path (plugins/host/direct.ts) has its own, named by its `session`, so
 * a reference resolves to what THAT caller last sent (a caller sends a node in full only when it
 * changed since it last sent it to this runner). A new runner process holds none; handles in
 * the guest are per instance (guest_nodes.ts), so a recycled instance still gets every node.
 */
const nodeCaches = new Map<string, Map<string, CycleNode>>();

/** The cache of the plugin host's own calls. */
export const HOST_CACHE = "host";

/** Callers' caches kept besides the host's (the least recently used is dropped; its caller misses). */
const MAX_CACHES = 8;

function cacheOf(key: string): Map<string, CycleNode> {
  let cache = nodeCaches.get(key);
  if (cache) {
    nodeCaches.delete(key);
  } else {
    cache = new Map();
    const callers = [...nodeCaches.keys()].filter((k) => k !== HOST_CACHE);
    if (callers.length >= MAX_CACHES) nodeCaches.delete(callers[0]);
  }
  nodeCaches.set(key, cache);
  return cache;
}

/** The first node a cycle refers to that cache `key` does not hold; null when every one resolves. */
export function missingNode(nodes: unknown, key: string): string | null {
  if (!Array.isArray(nodes)) return null;
  const cache = nodeCaches.get(key);
  for (const n of nodes as (NodeRecord | CachedNodeRef)[]) {
    const name = n && cachedNodeName(n);
    if (name !== null && name !== undefined && !cache?.has(name)) return name;
  }
  return null;
}

/** Resolves a cycle's nodes (full records or references) and keeps them in cache `key` for the next cycle. */
export function resolveNodes(nodes: (NodeRecord | CachedNodeRef)[], key = HOST_CACHE): CycleNode[] {
  const cache = cacheOf(key);
  return nodes.map((n) => {
    const name = cachedNodeName(n);
    if (name !== null) {
      const hit = cache.get(name);
      if (!hit) throw new Error(`the caller referred to node ${name}, which this runner does not hold`);
      return hit;
    }
    const fresh = { record: n as NodeRecord, wit: witNode(n as NodeRecord) };
    cache.set(fresh.record.name, fresh);
    return fresh;
  });
}

/**
 * The direct path's slot tables, one per caller (keyed as the node caches): slot → the node the
 * caller last put there. The caller numbers its nodes, so a cycle names its candidates as a few
 * `[start, count]` ranges instead of one name each.
 */
const slotTables = new Map<string, CycleNode[]>();

/** A cycle's nodes by slot (the direct path): the candidates as ranges, and the nodes sent in full. */
export interface SlotNodes {
  slots: SlotRange[];
  put?: [number, NodeRecord][];
}

function slotTableOf(key: string): CycleNode[] {
  let table = slotTables.get(key);
  if (table) {
    slotTables.delete(key);
  } else {
    table = [];
    if (slotTables.size >= MAX_CACHES) slotTables.delete(slotTables.keys().next().value!);
  }
  slotTables.set(key, table);
  return table;
}

const isSlot = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < MAX_SLOTS;

/** What is wrong with a cycle's `slots` and `put` (null: nothing). Pure. */
export function slotNodesProblem(given: { slots?: unknown; put?: unknown }): string | null {
  if (!Array.isArray(given.slots)) return "slots is not a list of [start, count] ranges";
  for (const r of given.slots) {
    if (!Array.isArray(r) || !isSlot(r[0]) || !Number.isInteger(r[1]) || r[1] < 0 || r[0] + r[1] > MAX_SLOTS) {
      return `slot range ${JSON.stringify(r)} is not [start, count] within [0, ${MAX_SLOTS})`;
    }
  }
  if (given.put === undefined) return null;
  if (!Array.isArray(given.put)) return "put is not a list of [slot, node]";
  for (const p of given.put) {
    if (!Array.isArray(p) || !isSlot(p[0]) || typeof p[1]?.name !== "string") return `put entry ${JSON.stringify(p).slice(0, 80)} is not [slot, node]`;
  }
  return null;
}

/** The first slot a cycle names that cache `key` does not hold (nor puts); null when every one resolves. */
export function missingSlot(given: SlotNodes, key: string): number | null {
  const table = slotTables.get(key);
  const put = given.put?.length ? new Set(given.put.map(([slot]) => slot)) : null;
  for (const [start, count] of given.slots) {
    for (let i = start; i < start + count; i++) if (!table?.[i] && !put?.has(i)) return i;
  }
  return null;
}

/** Puts a cycle's full nodes into slot table `key`, then resolves its slot ranges, in order. */
export function resolveSlots(given: SlotNodes, key = HOST_CACHE): CycleNode[] {
  const table = slotTableOf(key);
  for (const [slot, record] of given.put ?? []) table[slot] = { record, wit: witNode(record) };
  const out: CycleNode[] = [];
  for (const [start, count] of given.slots) {
    for (let i = start; i < start + count; i++) {
      const hit = table[i];
      if (!hit) throw new Error(`the caller referred to slot ${i}, which this runner does not hold`);
      out.push(hit);
    }
  }
  return out;
}

/** Per instance (its exported interface object): the nodes its guest holds. */
const held = new WeakMap<object, GuestNodes>();

type Verdict = {
  rejected?: { index?: number; code?: string; reason?: unknown }[];
  scores?: ArrayLike<number>;
};

/** One 0.2.0 cycle: put what changed, then one `filter-and-score`. */
export function cycleV02(
  s: Record<string, unknown>,
  pod: PodRecord,
  resolved: CycleNode[],
  what: Phases,
): CycleAnswer {
  let table = held.get(s);
  if (!table) held.set(s, table = new GuestNodes());
  const { ids, puts } = table.plan(resolved);
  if (puts.length) (s.putNodes as (n: unknown[]) => void)(puts);
  const n = resolved.length;
  const v = (s.filterAndScore as (p: unknown, ids: Uint32Array, ph: Phases) => Verdict)(
    witPod(pod),
    ids,
    { filter: what.filter, score: what.score },
  );
  const stale = table.stale();
  if (stale.length) (s.removeNodes as (ids: Uint32Array) => void)(Uint32Array.from(stale));
  let rejected: RejectionRecord[] | undefined;
  const passed = new Uint8Array(n).fill(1);
  if (what.filter) {
    rejected = [];
    for (const r of v?.rejected ?? []) {
      const i = r?.index;
      if (typeof i !== "number" || !(i >= 0 && i < n) || !passed[i]) {
        throw new MalformedResult(`filter rejected node index ${i} of ${n} nodes, or twice`);
      }
      const code = CODES[r.code ?? ""];
      if (!code || code === "Success") {
        throw new MalformedResult(`filter rejected node ${resolved[i].record.name} with code ${r.code}`);
      }
      passed[i] = 0;
      rejected.push({ index: i, code, reason: String(r.reason ?? "").slice(0, 1024) });
    }
  } else if (v?.rejected?.length) {
    throw new MalformedResult(`filter rejected nodes in a cycle that asked only for scores`);
  }
  let scores: number[] | undefined;
  if (what.score) {
    const got = v?.scores;
    if (!got || got.length !== n) {
      throw new MalformedResult(`filter-and-score answered ${got?.length ?? "no"} scores for ${n} nodes`);
    }
    scores = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const x = got[i];
      if (!passed[i]) scores[i] = 0;
      else if (typeof x === "number" && x >= 0 && x <= 100) scores[i] = x;
      else throw new MalformedResult(`score ${x} for node ${resolved[i].record.name} is outside [0, 100]`);
    }
  }
  return { rejected, scores };
}

/** What the runner calls on the `scheduling` export (0.2.0, or 0.1.0 by its functions). */
export const schedulerOps: GuestOps = {
  configure: (s, settings: string) => (s.configure as (x: string) => void)(settings),
  cycle(s, pod: PodRecord, given: (NodeRecord | CachedNodeRef)[] | SlotNodes, what: Phases, cache?: string): CycleAnswer {
    const resolved = Array.isArray(given) ? resolveNodes(given, cache ?? HOST_CACHE) : resolveSlots(given, cache ?? HOST_CACHE);
    if (typeof s.filterAndScore === "function") return cycleV02(s, pod, resolved, what);
    return cycleV01(s, witPod(pod), resolved.map((r) => r.record), resolved.map((r) => r.wit), what);
  },
};
