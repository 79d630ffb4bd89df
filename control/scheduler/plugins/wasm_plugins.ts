/**
 * The Wasm scheduler plugins, as one Filter + Score plugin of the framework (`WasmPlugins`).
 *
 * Before each cycle ({@linkcode WasmPlugins.prepareCycle}) it makes ONE call to the plugin host
 * with the pod and every node projected to small records (control/api/plugins.ts), for every
 * scheduler Plugin of this scheduler's profile; the host runs each plugin's filter over all the
 * nodes and its score over those that passed, in parallel across plugins. The synchronous
 * Filter and Score then answer from those results. So the out-of-process hop costs one round
 * trip per pod, not per node. Nodes are sent in full only when they changed since the previous
 * cycle (their pods, fields or images); unchanged ones are references the host resolves from
 * this scheduler's session cache (a miss, e.g. after a host restart, resends everything).
 *
 * - Filter: the first Wasm plugin (by name) that rejects a node decides, with its code
 *   (Unschedulable or UnschedulableAndUnresolvable) and the reason `<plugin>: <reason>`.
 * - Score: the plugins' scores averaged by their weights (`spec.scheduler.weight`), in [0, 100];
 *   the adapter itself joins the profile with weight 1 (upstream ImageLocality's weight).
 * - A failed plugin (trap, timeout, memory, capability, garbage, not loaded, host unreachable):
 *   with failurePolicy Fail every node is filtered (Unschedulable) with the reason
 *   `<plugin> failed: <why>`, so the pod reports FailedScheduling and is retried on cluster
 *   events; with Ignore the plugin neither filters nor scores.
 * - Preemption's dry runs reuse the cycle's answers (computed on the nodes as they were).
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
} from "../../api/plugins.ts";
import type { KubeObject } from "../../api/types.ts";
import {
  type ClusterEvent,
  type CycleState,
  type FilterPlugin,
  type NodeInfoView,
  type PodView,
  type PrepareCyclePlugin,
  type ScorePlugin,
  type Status,
  status,
} from "../types.ts";

/** Options of {@linkcode WasmPlugins}. */
export interface WasmPluginsOptions {
  /** The plugin host's URL. */
  url: string;
  token?: string;
  caCerts?: string[];
  fetch?: (req: Request) => Promise<Response>;
  /** The scheduler's informers (Plugins, pods and nodes are read from them). */
  informers: InformerFactory;
  /** The profile served (default `default-scheduler`). */
  profile?: string;
}

interface Cycle {
  uid: string;
  index: Map<string, number>;
  /** Per plugin, by name order. */
  plugins: { name: string; policy: "Fail" | "Ignore"; weight: number; result: SchedulingCycleResponse["results"][string] }[];
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
export class WasmPlugins implements PrepareCyclePlugin, FilterPlugin, ScorePlugin {
  readonly name = "WasmPlugins";
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
  readonly #fetch: (req: Request) => Promise<Response>;
  readonly #client: Deno.HttpClient | undefined;
  #cycle: Cycle | null = null;
  /** This scheduler's node cache on the host: the JSON of each node as last sent in full. */
  readonly #session = crypto.randomUUID();
  #sent = new Map<string, string>();
  /** Per NodeInfo: what its JSON was computed from (generation, node view, Node object). */
  #json = new WeakMap<NodeInfoView, { generation: number; view: unknown; obj: unknown; json: string; record: NodeRecord }>();

  constructor(opts: WasmPluginsOptions) {
    this.#opts = opts;
    this.#client = opts.caCerts?.length ? Deno.createHttpClient({ caCerts: opts.caCerts }) : undefined;
    this.#fetch = opts.fetch ?? ((req) => fetch(req, this.#client ? { client: this.#client } : undefined));
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

  async prepareCycle(pod: PodView, nodes: readonly NodeInfoView[]): Promise<void> {
    this.#cycle = null;
    const plugins = this.plugins();
    if (!plugins.length) return;
    const nodeInformer = this.#opts.informers.get(R.nodes);
    const current = nodes.map((n) => this.#nodeJson(n, nodeInformer.get(undefined, n.node.name)));
    const req: SchedulingCycleRequest = {
      plugins: plugins.map((p) => ({
        name: p.metadata.name!,
        filter: p.spec.scheduler?.filter ?? true,
        score: p.spec.scheduler?.score ?? true,
      })),
      pod: podRecord(pod, this.#opts.informers.get(R.pods).getByKey(pod.key)),
      nodes: [],
      session: this.#session,
    };
    const t0 = performance.now();
    this.stats.calls++;
    let results: SchedulingCycleResponse["results"];
    try {
      const timeout = Math.max(...plugins.map((p) => p.spec.timeoutSeconds ?? 10)) + 1;
      const signal = AbortSignal.timeout(timeout * 1000);
      let res: Response | null = null;
      for (let attempt = 0; attempt < 2 && !res?.ok; attempt++) {
        if (attempt) await res?.body?.cancel();
        // The first attempt refers to what the host holds; after a miss, everything in full.
        if (attempt) this.#sent.clear();
        req.nodes = current.map(({ record, json }): NodeRecord | CachedNodeRef =>
          this.#sent.get(record.name) === json ? { name: record.name, cached: true } : record
        );
        const refs = req.nodes.filter((n) => "cached" in n).length;
        this.stats.nodesReferenced += refs;
        this.stats.nodesSent += req.nodes.length - refs;
        res = await this.#fetch(
          new Request(`${this.#opts.url}/scheduler/cycle`, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              ...(this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {}),
            },
            body: JSON.stringify(req),
            signal,
          }),
        );
        if (res.status !== 409) break;
        const body = await res.clone().json().catch(() => null);
        if (body?.reason !== NODE_CACHE_MISS) break;
      }
      if (!res!.ok) throw new Error(`the plugin host answered ${res!.status}: ${(await res!.text()).slice(0, 200)}`);
      results = ((await res!.json()) as SchedulingCycleResponse).results;
      this.#sent = new Map(current.map(({ record, json }) => [record.name, json]));
    } catch (e) {
      this.#sent.clear();
      const message = `Unreachable: the plugin host at ${this.#opts.url} did not answer: ${(e as Error).message}`;
      results = Object.fromEntries(
        req.plugins.map((p) => [p.name, { failure: { kind: "PluginFailure" as const, plugin: p.name, reason: "Unreachable" as const, message } }]),
      );
    }
    this.stats.ms += performance.now() - t0;
    this.#cycle = {
      uid: pod.uid,
      index: new Map(current.map((n, i) => [n.record.name, i])),
      plugins: plugins.map((p) => ({
        name: p.metadata.name!,
        policy: p.spec.failurePolicy ?? "Fail",
        weight: p.spec.scheduler?.weight ?? 1,
        result: results[p.metadata.name!] ?? {
          failure: { kind: "PluginFailure", plugin: p.metadata.name!, reason: "MalformedResult", message: "no answer" },
        },
      })),
    };
    if (this.#cycle.plugins.some((p) => p.result.failure)) this.stats.failures++;
  }

  /** A node's record and its JSON, recomputed only when the node changed. */
  #nodeJson(info: NodeInfoView, obj: KubeObject | undefined): { record: NodeRecord; json: string } {
    const generation = (info as { generation?: number }).generation;
    const prev = this.#json.get(info);
    if (prev && generation !== undefined && prev.generation === generation && prev.view === info.node && prev.obj === obj) return prev;
    const record = nodeRecord(info, obj);
    const entry = { generation: generation ?? -1, view: info.node, obj, json: JSON.stringify(record), record };
    if (generation !== undefined) this.#json.set(info, entry);
    return entry;
  }

  filter(_state: CycleState, pod: PodView, node: NodeInfoView): Status | null {
    const c = this.#cycle;
    if (!c || c.uid !== pod.uid) return null;
    const i = c.index.get(node.node.name);
    for (const p of c.plugins) {
      const r = p.result;
      if (r.failure) {
        if (p.policy === "Ignore") continue;
        return status("Unschedulable", `${p.name} failed: ${r.failure.reason}: ${r.failure.message}`);
      }
      if (!r.filter) continue;
      if (i === undefined) return status("Unschedulable", `${p.name}: node not evaluated`);
      const f = r.filter[i];
      if (f && f.code !== "Success") return status(f.code, `${p.name}: ${f.reason || "rejected"}`);
    }
    return null;
  }

  score(_state: CycleState, pod: PodView, node: NodeInfoView): number {
    const c = this.#cycle;
    if (!c || c.uid !== pod.uid) return 0;
    const i = c.index.get(node.node.name);
    let sum = 0;
    let weights = 0;
    for (const p of c.plugins) {
      if (!p.result.scores || p.result.failure) continue;
      weights += p.weight;
      sum += p.weight * (i === undefined ? 0 : p.result.scores[i] ?? 0);
    }
    return weights ? Math.round(sum / weights) : 0;
  }

  close(): void {
    this.#client?.close();
  }
}
