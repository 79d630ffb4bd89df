/**
 * The scheduler kind's binding: the projected records of control/api/plugins.ts ↔ the WIT
 * records of `skiff:scheduler@0.1.0`. `cycle` runs in the runner: the plugin's filter over the given
 * nodes and/or its score over those that passed (the scheduler asks for one or the other per
 * call: filter on the nodes its built-in filters kept, score on the feasible ones), and refuses
 * malformed answers (wrong lengths, unknown codes, scores outside [0, 100]).
 * @module
 */
import { type CachedNodeRef, cachedNodeName, type FilterRecord, type NodeRecord, type PodRecord } from "../../control/api/plugins.ts";
import { type GuestOps, MalformedResult } from "../host/protocol.ts";

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

const CODES: Record<string, FilterRecord["code"]> = {
  "success": "Success",
  "unschedulable": "Unschedulable",
  "unschedulable-and-unresolvable": "UnschedulableAndUnresolvable",
};

/**
 * The runner's node cache: every node it was sent, by name, as last sent, with its WIT record.
 * The plugin host sends a node in full only when it changed since it last sent it to this runner
 * (and forgets what it sent when a call fails, so a recycled instance gets everything again).
 */
const nodeCache = new Map<string, { record: NodeRecord; wit: Record<string, unknown> }>();

/** Resolves a cycle's nodes (full records or references) and keeps them for the next cycle. */
export function resolveNodes(nodes: (NodeRecord | CachedNodeRef)[]): { record: NodeRecord; wit: Record<string, unknown> }[] {
  const out = nodes.map((n) => {
    const name = cachedNodeName(n);
    if (name !== null) {
      const hit = nodeCache.get(name);
      if (!hit) throw new Error(`the plugin host referred to node ${name}, which this runner does not hold`);
      return hit;
    }
    const fresh = { record: n as NodeRecord, wit: witNode(n as NodeRecord) };
    nodeCache.set(fresh.record.name, fresh);
    return fresh;
  });
  return out;
}

/** What the runner calls on the `scheduling` export. */
export const schedulerOps: GuestOps = {
  configure: (s, settings: string) => (s.configure as (x: string) => void)(settings),
  cycle(s, pod: PodRecord, given: (NodeRecord | CachedNodeRef)[], what: { filter: boolean; score: boolean }) {
    const wp = witPod(pod);
    const resolved = resolveNodes(given);
    const nodes = resolved.map((n) => n.record);
    const wn = resolved.map((n) => n.wit);
    let filter: FilterRecord[] | undefined;
    let passing = wn.map((_, i) => i);
    if (what.filter) {
      const got = (s.filter as (p: unknown, n: unknown[]) => unknown)(wp, wn);
      if (!Array.isArray(got) || got.length !== nodes.length) {
        throw new MalformedResult(`filter answered ${Array.isArray(got) ? got.length : "no"} results for ${nodes.length} nodes`);
      }
      filter = got.map((r: { code?: string; reason?: unknown }, i) => {
        const code = CODES[r?.code ?? ""];
        if (!code) throw new MalformedResult(`filter answered an unknown code for node ${nodes[i].name}`);
        return { code, reason: String(r.reason ?? "").slice(0, 1024) };
      });
      passing = passing.filter((i) => filter![i].code === "Success");
    }
    let scores: number[] | undefined;
    if (what.score) {
      scores = new Array(nodes.length).fill(0);
      if (passing.length) {
        const raw = (s.score as (p: unknown, n: unknown[]) => unknown)(wp, passing.map((i) => wn[i]));
        // jco lifts list<u32> as a Uint32Array.
        const got = ArrayBuffer.isView(raw) ? Array.from(raw as Uint32Array) : raw;
        if (!Array.isArray(got) || got.length !== passing.length) {
          throw new MalformedResult(`score answered ${Array.isArray(got) ? got.length : "no"} scores for ${passing.length} nodes`);
        }
        got.forEach((v, j) => {
          if (!(typeof v === "number" && v >= 0 && v <= 100)) {
            throw new MalformedResult(`score ${v} for node ${nodes[passing[j]].name} is outside [0, 100]`);
          }
          scores![passing[j]] = v;
        });
      }
    }
    return { filter, scores };
  },
};
