/**
 * The Wasm scheduler plugins, as one batch Filter + Score plugin of the framework (`WasmPlugins`,
 * a {@linkcode BatchPlugin}).
 *
 * The framework runs it after every built-in Filter, as upstream runs Filter plugins in order:
 * {@linkcode WasmPlugins.filterBatch} gets only the nodes the built-in filters kept (at most
 * `numFeasibleNodesToFind` of them) and makes ONE call to the plugin host with the pod and those
 * nodes projected to small records (control/api/plugins.ts), for every scheduler Plugin of this
 * scheduler's profile. In the same round trip each plugin also scores the nodes that passed its
 * own filter; {@linkcode WasmPlugins.scoreBatch} uses those scores when they cover exactly the
 * feasible nodes it is given (the usual case: no other filter rejected more), and otherwise makes
 * one more call with the feasible nodes. The host runs the plugins in parallel. So the
 * out-of-process hop costs one round trip per pod (at most one per extension point, plus a
 * refill when the plugins reject candidates and more nodes remain), never one per node. Nodes
 * are sent in full only when they changed since this scheduler last sent them (their pods,
 * fields or images); the others are references the host resolves from this scheduler's session
 * cache (a miss, e.g. after a host restart, resends the call's nodes in full).
 *
 * - Filter: the first Wasm plugin (by name) that rejects a node decides, with its code
 *   (Unschedulable or UnschedulableAndUnresolvable) and the reason `<plugin>: <reason>`. (The
 *   host runs every filtering plugin on the same nodes, in parallel, rather than each on what the
 *   previous one kept; the answers are the same.)
 * - Score: the plugins' scores averaged by their weights (`spec.scheduler.weight`), in [0, 100];
 *   the adapter itself joins the profile with weight 1 (upstream ImageLocality's weight).
 * - A failed plugin (trap, timeout, memory, capability, garbage, not loaded, host unreachable):
 *   with failurePolicy Fail, in Filter every node given is filtered (Unschedulable) with the
 *   reason `<plugin> failed: <why>`, so the pod reports FailedScheduling and is retried on cluster
 *   events; in Score the cycle fails with that Error (upstream: a Score plugin's error); with
 *   Ignore the plugin neither filters nor scores.
 * - Preemption's dry runs reuse the cycle's Filter answers (computed on the nodes as they were).
 *
 * Plugins are read from an informer: applying, changing or deleting one takes effect on the next
 * cycle without a restart. Node images come from `status.images` (reported by node agents as
 * upstream kubelets do; a node reporting none has none).
 *
 * Joining the default profile: `plugins: [...defaultPlugins(), { plugin: wasm, weight: 1 }]`,
 * with `informers` shared with the scheduler (SchedulerOptions.informers).
 * @module
 */
import { R } from "../../api/client.ts";
import type { InformerFactory } from "../../api/informer.ts";
import {
  type CachedNodeRef,
  NODE_CACHE_MISS,
  type NodeRecord,
  type PluginObject,
  PLUGINS,
  type PodRecord,
  type SchedulingCycleRequest,
  type SchedulingCycleResponse,
  rejections,
} from "../../api/plugins.ts";
import { type PluginHostAnswer, PluginHostCaller, type PluginHostCallerOptions } from "../../api/plugin_channel.ts";
import type { KubeObject } from "../../api/types.ts";
import type { BatchPlugin } from "../framework.ts";
import { DirectCycles, type SentNode } from "./wasm_direct.ts";
import { type ClusterEvent, type NodeInfoView, type PodView, type Status, status } from "../types.ts";

type Results = SchedulingCycleResponse["results"];

/** Options of {@linkcode WasmPlugins}: how to reach the plugin host (control/api/plugin_channel.ts), and more. */
export interface WasmPluginsOptions extends PluginHostCallerOptions {
  /** The scheduler's informers (Plugins, pods and nodes are read from them). */
  informers: InformerFactory;
  /** The profile served (default `default-scheduler`). */
  profile?: string;
  /**
   * A plugin host in this process (plugins/host/server.ts `PluginHost`, or anything answering
   * its `post`): calls go to it directly instead of over the channel to `url`, which saves the
   * scheduler → plugin host hop (two process wake-ups per pod). The host still runs each plugin
   * in its own runner process, with the same deadlines and failure handling.
   */
  host?: { post(path: string, body: unknown): Promise<PluginHostAnswer> };
  /**
   * Whether cycles go straight to each plugin's runner when the plugin host publishes its
   * socket (wasm_direct.ts; default: true, unless `host` is given — then the host's pipe to
   * the runner is as short). The plugin host stays the fallback.
   */
  direct?: boolean;
}

/** Projects a pod for plugins. Pure. */
export function podRecord(view: PodView, pod: KubeObject | undefined): PodRecord {
  const spec = pod?.spec ?? {};
  const images = [...(spec.initContainers ?? []), ...(spec.containers ?? [])]
    .map((c: { image?: string }) => c.image ?? "").filter(Boolean);
  return {
    namespace: view.namespace,
    name: view.name,
    uid: view.uid,
    labels: Object.entries(view.labels),
    nodeSelector: Object.entries(view.nodeSelector ?? {}),
    milliCpu: view.requests.milliCPU,
    memory: view.requests.memory,
    priority: view.priority,
    images,
    runtimeClass: view.runtimeClass?.name ?? null,
  };
}

/** Projects a node for plugins. Pure. */
export function nodeRecord(info: NodeInfoView, node: KubeObject | undefined): NodeRecord {
  const n = info.node;
  return {
    name: n.name,
    labels: Object.entries(n.labels),
    unschedulable: n.unschedulable,
    taints: n.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
    allocatableMilliCpu: n.allocatable.milliCPU,
    allocatableMemory: n.allocatable.memory,
    requestedMilliCpu: info.requested.milliCPU,
    requestedMemory: info.requested.memory,
    podCount: info.pods.length,
    images: ((node?.status?.images ?? []) as { names?: string[]; sizeBytes?: number }[])
      .map((i) => ({ names: i.names ?? [], sizeBytes: i.sizeBytes ?? 0 })),
  };
}

/** The adapter. */
export class WasmPlugins implements BatchPlugin {
  readonly name = "WasmPlugins";
  readonly batch = true;
  readonly events: readonly ClusterEvent[] = [
    "NodeAdd",
    "NodeLabel",
    "NodeTaint",
    "NodeAllocatable",
    "NodeCondition",
    "AssignedPodAdd",
    "AssignedPodDelete",
  ];
  /** Calls made and their total time (benchmarks, tests). */
  readonly stats = { calls: 0, failures: 0, ms: 0, nodesSent: 0, nodesReferenced: 0 };
  readonly #opts: WasmPluginsOptions;
  readonly #caller: PluginHostCaller;
  /** The direct path to the plugins' runners (null: off). */
  readonly #direct: DirectCycles | null;
  /** This scheduler's node cache on the host: the JSON of each node as last sent in full. */
  readonly #session = crypto.randomUUID();
  #sent = new Map<string, string>();
  /**
   * The last Filter call's answers (scores included), for the Score of the same cycle; per
   * filtering plugin, a flag per node it rejected.
   */
  #speculative: { uid: string; nodes: readonly NodeInfoView[]; results: Results; rejected: Map<string, Uint8Array> } | null = null;
  /** Per NodeInfo: what its JSON was computed from (generation, node view, Node object). */
  #json = new WeakMap<NodeInfoView, SentNode & { generation: number; view: unknown }>();

  constructor(opts: WasmPluginsOptions) {
    this.#opts = opts;
    this.#caller = new PluginHostCaller(opts);
    const host = opts.host;
    this.#direct = (opts.direct ?? !host)
      ? new DirectCycles(
        host ? (path, body) => host.post(path, body) : (path, body, ms) => this.#caller.post(path, body, ms, { counted: false }),
        this.#session,
      )
      : null;
    // Registered now so the scheduler's factory starts them with the rest.
    opts.informers.get(PLUGINS);
    opts.informers.get(R.pods);
    opts.informers.get(R.nodes);
  }

  /** The scheduler Plugins of this profile, by name. */
  plugins(): PluginObject[] {
    const profile = this.#opts.profile ?? "default-scheduler";
    return (this.#opts.informers.get(PLUGINS).list() as PluginObject[])
      .filter((p) => p.spec?.kind === "scheduler" && !p.metadata.deletionTimestamp)
      .filter((p) => (p.spec.scheduler?.profile ?? "default-scheduler") === profile)
      .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  }

  async filterBatch(pod: PodView, nodes: readonly NodeInfoView[]): Promise<(Status | null)[]> {
    this.#speculative = null;
    const all = this.plugins();
    const plugins = all.filter((p) => p.spec.scheduler?.filter ?? true);
    const out = new Array<Status | null>(nodes.length).fill(null);
    if (!plugins.length || !nodes.length) return out;
    // The same round trip also scores, for each plugin, the nodes that passed its filter (the
    // feasible nodes, unless another filter rejected more); scoreBatch uses those scores only
    // when they were computed on exactly the nodes it is given.
    const scoring = all.filter((p) => p.spec.scheduler?.score ?? true);
    const called = [...new Set([...plugins, ...scoring])].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    const results = await this.#call(pod, nodes, called, "both");
    const rejectedBy = new Map<string, Uint8Array>();
    this.#speculative = { uid: pod.uid, nodes, results, rejected: rejectedBy };
    for (const p of plugins) {
      const name = p.metadata.name!;
      const r = results[name];
      // Only the rejections are read (by position), no answer object per node.
      const verdict = r && !r.failure ? rejections(r, nodes.length) : null;
      const failed = r?.failure ?? (verdict ? null : {
        reason: "MalformedResult",
        message: `answered ${r?.filter?.length ?? r?.rejected?.length ?? "no"} filter results that do not fit ${nodes.length} nodes`,
      });
      if (failed) {
        if ((p.spec.failurePolicy ?? "Fail") === "Ignore") continue;
        const s = status("Unschedulable", `${name} failed: ${failed.reason}: ${failed.message}`);
        for (let i = 0; i < out.length; i++) out[i] ??= s;
        continue;
      }
      rejectedBy.set(name, verdict!.flags);
      for (const f of verdict!.rejected) {
        if (out[f.index] === null) out[f.index] = status(f.code, `${name}: ${f.reason || "rejected"}`);
      }
    }
    return out;
  }

  async scoreBatch(pod: PodView, nodes: readonly NodeInfoView[]): Promise<number[] | Status> {
    const plugins = this.plugins().filter((p) => p.spec.scheduler?.score ?? true);
    if (!plugins.length || !nodes.length) return new Array(nodes.length).fill(0);
    const results = this.#scoredAlready(pod, nodes, plugins) ?? await this.#call(pod, nodes, plugins, "score");
    const sum = new Array<number>(nodes.length).fill(0);
    let weights = 0;
    for (const p of plugins) {
      const name = p.metadata.name!;
      const r = results[name];
      const failed = r?.failure ?? (r?.scores?.length === nodes.length ? null : {
        reason: "MalformedResult",
        message: `answered ${r?.scores?.length ?? "no"} scores for ${nodes.length} nodes`,
      });
      if (failed) {
        if ((p.spec.failurePolicy ?? "Fail") === "Ignore") continue;
        return status("Error", `${name} failed: ${failed.reason}: ${failed.message}`);
      }
      const w = p.spec.scheduler?.weight ?? 1;
      weights += w;
      r.scores!.forEach((v, i) => (sum[i] += w * v));
    }
    return weights ? sum.map((v) => Math.round(v / weights)) : sum;
  }

  /**
   * The Filter call's scores, re-indexed to `nodes`, when every scoring plugin scored exactly
   * `nodes` there (the nodes that passed its filter, or all it was given); else null.
   */
  #scoredAlready(pod: PodView, nodes: readonly NodeInfoView[], plugins: PluginObject[]): Results | null {
    const sp = this.#speculative;
    this.#speculative = null;
    if (!sp || sp.uid !== pod.uid) return null;
    // Where each of `nodes` was in the Filter call: the feasible nodes keep the candidates'
    // order, so one walk over both finds them (no lookup by name); another order asks again.
    const at = new Uint32Array(nodes.length);
    for (let i = 0, j = 0; i < nodes.length; i++, j++) {
      while (j < sp.nodes.length && sp.nodes[j] !== nodes[i]) j++;
      if (j === sp.nodes.length) return null;
      at[i] = j;
    }
    const out: Results = {};
    for (const p of plugins) {
      const name = p.metadata.name!;
      const r = sp.results[name];
      if (!r || r.failure) {
        if (r?.failure) out[name] = r;
        continue;
      }
      if (!r.scores || r.scores.length !== sp.nodes.length) return null;
      // A plugin that also filtered scored only the nodes it kept: they must be `nodes` exactly.
      const flags = sp.rejected.get(name);
      let kept = sp.nodes.length;
      if (flags) for (let j = 0; j < flags.length; j++) kept -= flags[j];
      if (kept !== nodes.length) return null;
      const scores = new Array<number>(nodes.length);
      for (let i = 0; i < nodes.length; i++) {
        if (flags?.[at[i]]) return null;
        scores[i] = r.scores[at[i]];
      }
      out[name] = { scores };
    }
    return out;
  }

  /**
   * One cycle: `what` of `plugins` over the pod and `nodes` — straight to each plugin's runner
   * where the direct path serves it (wasm_direct.ts), in one plugin host call for the others.
   * Never throws.
   */
  async #call(pod: PodView, nodes: readonly NodeInfoView[], plugins: PluginObject[], what: "filter" | "score" | "both"): Promise<Results> {
    const nodeInformer = this.#opts.informers.get(R.nodes);
    const current = new Array<SentNode>(nodes.length);
    for (let i = 0; i < nodes.length; i++) current[i] = this.#nodeJson(nodes[i], nodeInformer);
    const req: SchedulingCycleRequest = {
      plugins: plugins.map((p) => ({
        name: p.metadata.name!,
        filter: what !== "score" && (p.spec.scheduler?.filter ?? true),
        score: what !== "filter" && (p.spec.scheduler?.score ?? true),
      })),
      pod: podRecord(pod, this.#opts.informers.get(R.pods).getByKey(pod.key)),
      nodes: [],
      session: this.#session,
    };
    const t0 = performance.now();
    this.stats.calls++;
    const results: Results = {};
    const direct = this.#direct;
    if (direct) {
      const timeouts = new Map(plugins.map((p) => [p.metadata.name!, (p.spec.timeoutSeconds ?? 10) * 1000]));
      const answers = await Promise.all(req.plugins.map((p) => direct.cycle(p, req.pod, current, timeouts.get(p.name)!)));
      req.plugins.forEach((p, i) => answers[i] && (results[p.name] = answers[i]));
      req.plugins = req.plugins.filter((_, i) => !answers[i]);
    }
    if (req.plugins.length) Object.assign(results, await this.#viaHost(req, current, plugins));
    if (this.stats.calls % 1024 === 0) {
      const live = new Set(nodeInformer.list().map((n) => n.metadata.name!));
      this.#prune(live);
      direct?.prune(live);
    }
    this.stats.ms += performance.now() - t0;
    for (const p of plugins) {
      results[p.metadata.name!] ??= {
        failure: { kind: "PluginFailure", plugin: p.metadata.name!, reason: "MalformedResult", message: "no answer" },
      };
    }
    if (Object.values(results).some((r) => r.failure)) this.stats.failures++;
    return results;
  }

  /** One plugin host call for `req.plugins`. Never throws. */
  async #viaHost(req: SchedulingCycleRequest, current: { record: NodeRecord; json: string }[], plugins: PluginObject[]): Promise<Results> {
    try {
      const called = new Set(req.plugins.map((p) => p.name));
      const timeout = Math.max(...plugins.filter((p) => called.has(p.metadata.name!)).map((p) => p.spec.timeoutSeconds ?? 10)) + 1;
      const deadline = Date.now() + timeout * 1000;
      let res: PluginHostAnswer | null = null;
      for (let attempt = 0; attempt < 2 && res?.status !== 200; attempt++) {
        // The first attempt refers to what the host holds; after a miss, everything in full.
        if (attempt) this.#sent.clear();
        req.nodes = current.map(({ record, json }): NodeRecord | CachedNodeRef =>
          this.#sent.get(record.name) === json ? record.name : record
        );
        const refs = req.nodes.filter((n) => typeof n === "string").length;
        this.stats.nodesReferenced += refs;
        this.stats.nodesSent += req.nodes.length - refs;
        res = this.#opts.host
          ? await this.#opts.host.post("/scheduler/cycle", req)
          : await this.#caller.post("/scheduler/cycle", req, Math.max(1, deadline - Date.now()));
        if (res.status !== 409 || (res.body as { reason?: string } | null)?.reason !== NODE_CACHE_MISS) break;
      }
      if (res!.status !== 200 || !(res!.body as SchedulingCycleResponse | null)?.results) {
        throw new Error(`the plugin host answered ${res!.status}: ${JSON.stringify(res!.body).slice(0, 200)}`);
      }
      // The host keeps every node it was sent (merged), so this cache does too.
      for (const { record, json } of current) this.#sent.set(record.name, json);
      return (res!.body as SchedulingCycleResponse).results;
    } catch (e) {
      this.#sent.clear();
      const message = `Unreachable: the plugin host at ${this.#opts.url} did not answer: ${(e as Error).message}`;
      return Object.fromEntries(
        req.plugins.map((p) => [p.name, { failure: { kind: "PluginFailure" as const, plugin: p.name, reason: "Unreachable" as const, message } }]),
      );
    }
  }

  /** Forgets nodes that no longer exist. */
  #prune(live: Set<string>): void {
    for (const name of [...this.#sent.keys()]) if (!live.has(name)) this.#sent.delete(name);
  }

  /**
   * A node's record and its JSON, recomputed only when the node changed: its NodeInfo's
   * generation (pods added or removed) or its view, which the scheduler's cache replaces on every
   * Node update (event_handlers.ts), so the same view means the same Node object and the Node is
   * not looked up. One object per node version: the direct path compares these objects.
   */
  #nodeJson(info: NodeInfoView, nodeInformer: { get(ns: undefined, name: string): KubeObject | undefined }): SentNode {
    const generation = (info as { generation?: number }).generation;
    const prev = this.#json.get(info);
    if (prev && generation !== undefined && prev.generation === generation && prev.view === info.node) return prev;
    const obj = nodeInformer.get(undefined, info.node.name);
    const record = nodeRecord(info, obj);
    const entry = { generation: generation ?? -1, view: info.node, json: JSON.stringify(record), record };
    if (generation !== undefined) this.#json.set(info, entry);
    return entry;
  }

  /** Calls made over the plugin host's channel and over HTTP. */
  get transport(): { channel: number; http: number } {
    return this.#caller.stats;
  }

  /** Cycles answered on the direct path (wasm_direct.ts): calls, nodes sent in full and by reference, misses. */
  get direct(): DirectCycles["stats"] | null {
    return this.#direct?.stats ?? null;
  }

  close(): void {
    this.#direct?.close();
    this.#caller.close();
  }
}
