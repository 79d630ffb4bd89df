/**
 * The shared vocabulary of Wasm plugins: the `Plugin` kind (`skiff.dev/v1alpha1`) as components
 * read it, and the plugin host's HTTP protocol, spoken by the API server's admission chain and
 * the scheduler (callers) and by `./skiff plugin-host` (the server, plugins/host). Pure.
 *
 * The protocol, over HTTPS on loopback (or wherever `--plugin-host` points):
 * - `POST /admission/<plugin>/<validate|mutate>`: an `admission.k8s.io/v1` AdmissionReview in,
 *   an AdmissionReview out (as a webhook answers). A plugin that fails (trap, timeout, memory,
 *   capability, malformed answer, not loaded) answers a non-2xx {@linkcode PluginFailure}.
 * - `POST /scheduler/cycle`: a {@linkcode SchedulingCycleRequest} (the pod and every candidate
 *   node, projected) in, a {@linkcode SchedulingCycleResponse} out: one round trip per pod. The
 *   same body, for one plugin, goes straight to that plugin's runner on the direct path
 *   (`POST /direct`, control/api/plugin_direct.ts).
 * - `GET /healthz`; `GET /plugins`: what is loaded (name, digest, generation, state).
 * @module
 */
import type { ResourceRef } from "./client.ts";
import type { KubeObject } from "./types.ts";

/** The Plugin resource. */
export const PLUGINS: ResourceRef = { group: "skiff.dev", version: "v1alpha1", plural: "plugins", namespaced: false };

/** Plugin kinds (`spec.kind`). */
export const PLUGIN_KINDS = ["admission", "scheduler", "runtime", "network", "ipam", "storage"] as const;
export type PluginKind = typeof PLUGIN_KINDS[number];

/** Host capabilities a Plugin may be granted (`spec.grants[].capability`). */
export const CAPABILITIES = ["log", "state", "host-net", "host-mount", "host-process"] as const;
export type Capability = typeof CAPABILITIES[number];

/** One grant: a capability and its bounds (capability-specific, see docs/plugins.md). */
export interface Grant {
  capability: Capability;
  bounds?: Record<string, unknown>;
}

/** An upstream `RuleWithOperations` (admissionregistration.k8s.io/v1). */
export interface AdmissionRule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  /** `pods`, `pods/status`, `pods/<any>` (written with a star), a star alone, or star/star. */
  resources?: string[];
}

/** `spec` of a Plugin. */
export interface PluginSpec {
  kind: PluginKind;
  /** An OCI Wasm artifact; a tag is resolved to a digest by the host (`status.components[].digest`). */
  image: string;
  /** Settings, validated by the plugin when it is loaded (`configure`). */
  config?: unknown;
  grants?: Grant[];
  /** Node-side kinds: the nodes that load it. */
  nodeSelector?: Record<string, string>;
  admission?: {
    rules?: AdmissionRule[];
    /** Only these namespaces (empty: every namespace, and cluster-scoped objects). */
    namespaces?: string[];
    /** Never these namespaces. */
    excludeNamespaces?: string[];
    /** Also call `mutate` (before validation); default false: only `validate`. */
    mutating?: boolean;
    /** Position among admission plugins (lower first; ties by name). Default 0. */
    order?: number;
  };
  scheduler?: {
    /** The scheduler profile (`schedulerName`) it joins; default `default-scheduler`. */
    profile?: string;
    /** Run its filter (default true) and its score (default true). */
    filter?: boolean;
    score?: boolean;
    /** Score weight (default 1). */
    weight?: number;
  };
  /** What a failed call means: Fail (default) or Ignore, as upstream webhooks. */
  failurePolicy?: "Fail" | "Ignore";
  /** Per-call deadline, 1–30 (default 10, as upstream webhooks). */
  timeoutSeconds?: number;
  /** Memory cap of each instance's linear memory (a quantity; default 64Mi). */
  memory?: string;
}

/** One host's view of a Plugin (`status.components[]`). */
export interface PluginComponentStatus {
  /** The host: `plugin-host`, or `node/<name>`. */
  name: string;
  /** The digest of the artifact it runs. */
  digest?: string;
  observedGeneration?: number;
  conditions: { type: "Loaded" | "Ready"; status: "True" | "False"; reason: string; message: string; lastTransitionTime: string }[];
  /** The last failed call: what happened, when, and how many so far. */
  lastError?: { message: string; reason: string; time: string; count: number };
}

export interface PluginObject extends KubeObject {
  spec: PluginSpec;
  status?: { components?: PluginComponentStatus[] };
}

/** How a plugin call failed (the host's answer body when it is not 2xx). */
export interface PluginFailure {
  kind: "PluginFailure";
  plugin: string;
  /** Closed vocabulary: see {@linkcode FailureReason}. */
  reason: FailureReason;
  message: string;
}

/**
 * Why a call failed: the guest trapped, ran past its deadline, hit its memory cap, used a
 * capability it was not granted, returned a malformed answer or an `error`; or the plugin is not
 * loaded, or the host is unreachable (the caller's own reason).
 */
export type FailureReason =
  | "Trap"
  | "Timeout"
  | "MemoryLimit"
  | "CapabilityDenied"
  | "MalformedResult"
  | "PluginError"
  | "NotLoaded"
  | "Unreachable";

/** A plugin-host failure as an Error (callers map it: failurePolicy, a filtered node). */
export class PluginCallError extends Error {
  constructor(readonly plugin: string, readonly reason: FailureReason, message: string) {
    super(message);
    this.name = "PluginCallError";
  }
}

/** The scheduler's projected pod (the fields plugins need; WIT `pod-view`). */
export interface PodRecord {
  namespace: string;
  name: string;
  uid: string;
  labels: [string, string][];
  nodeSelector: [string, string][];
  milliCpu: number;
  memory: number;
  priority: number;
  /** Container and init container images. */
  images: string[];
  runtimeClass: string | null;
}

/** The scheduler's projected node (WIT `node-view`). */
export interface NodeRecord {
  name: string;
  labels: [string, string][];
  unschedulable: boolean;
  taints: { key: string; value: string; effect: string }[];
  allocatableMilliCpu: number;
  allocatableMemory: number;
  requestedMilliCpu: number;
  requestedMemory: number;
  podCount: number;
  /** `status.images[].names` with sizes (upstream ImageLocality's input). */
  images: { names: string[]; sizeBytes: number }[];
}

/** One node's filter answer (WIT `filter-result`): code as upstream's framework Status. */
export interface FilterRecord {
  code: "Success" | "Unschedulable" | "UnschedulableAndUnresolvable";
  reason: string;
}

/**
 * A node the receiver already holds, unchanged since it was last sent in full under this name:
 * the name itself (12 bytes on the wire instead of a record), or `{name, cached: true}`.
 */
export type CachedNodeRef = string | { name: string; cached: true };

/** The name a cached node reference refers to; null for a full record. Pure. */
export function cachedNodeName(n: NodeRecord | CachedNodeRef): string | null {
  if (typeof n === "string") return n;
  return "cached" in n && n.cached ? n.name : null;
}

/** `POST /scheduler/cycle`. */
export interface SchedulingCycleRequest {
  /** Plugin names to run, each with what to run. */
  plugins: { name: string; filter: boolean; score: boolean }[];
  pod: PodRecord;
  /**
   * Every candidate node, in order: a full record, or (with `session`) a reference to the record
   * last sent in full under that name in the session. Between two cycles only the nodes whose
   * pods or fields changed are sent again, so a cycle costs what changed, not the cluster's size.
   */
  nodes: (NodeRecord | CachedNodeRef)[];
  /** The sender's node cache on the host; a reference the host cannot resolve gets 409 {@linkcode NODE_CACHE_MISS}. */
  session?: string;
  /**
   * The direct path only (a scheduler plugin's runner, plugins/host/direct.ts): the call's key
   * for its deadline and for `POST /direct/failure`; `plugins` names that runner's plugin only,
   * and `session` names the sender's node cache in that runner.
   */
  key?: string;
  /**
   * The direct path only, instead of `nodes`: the candidate nodes, in order, as `[start, count]`
   * ranges of slots in the caller's slot table for `session` in that runner (a rotating window
   * over the node list is one or two ranges). The caller numbers its nodes; a slot names the
   * node last put there. A slot the runner does not hold gets 409 {@linkcode NODE_CACHE_MISS}.
   */
  slots?: SlotRange[];
  /** With `slots`: nodes sent in full, each put into its slot before `slots` are read. */
  put?: [slot: number, node: NodeRecord][];
}

/** Slots a caller may use: `[0, MAX_SLOTS)` (it reuses the slots of deleted nodes). */
export const MAX_SLOTS = 1 << 17;

/** A run of consecutive slots: `[start, count]`. */
export type SlotRange = [start: number, count: number];

/** `slots` as `[start, count]` ranges, in order (consecutive slots share a range). Pure. */
export function slotRanges(slots: ArrayLike<number>): SlotRange[] {
  const out: SlotRange[] = [];
  let last: SlotRange | null = null;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (last && s === last[0] + last[1]) last[1]++;
    else out.push(last = [s, 1]);
  }
  return out;
}

/** The reason of the host's 409 when a cached node reference misses: resend every node in full. */
export const NODE_CACHE_MISS = "NodeCacheMiss";

/** A node a plugin's filter rejected: its index among the cycle's nodes, the code and the reason. */
export interface RejectionRecord {
  index: number;
  code: Exclude<FilterRecord["code"], "Success">;
  reason: string;
}

/**
 * Per plugin: its filter answers and scores (parallel to the request's nodes), or its failure.
 * The filter's answers come as `rejected` (only the nodes it rejected; every other node passed)
 * or, from older hosts, as `filter` (one answer per node); {@linkcode filterAnswers} reads both.
 */
export interface SchedulingCycleResponse {
  results: Record<string, { filter?: FilterRecord[]; rejected?: RejectionRecord[]; scores?: number[]; failure?: PluginFailure }>;
}

/**
 * A plugin's filter answers for a cycle of `n` nodes, one per node, from either form of
 * {@linkcode SchedulingCycleResponse}; null when there are none or they do not fit `n`. Pure.
 */
export function filterAnswers(r: { filter?: FilterRecord[]; rejected?: RejectionRecord[] } | undefined, n: number): FilterRecord[] | null {
  if (r?.filter) return r.filter.length === n ? r.filter : null;
  if (!r?.rejected) return null;
  const out = new Array<FilterRecord>(n);
  for (const x of r.rejected) {
    if (!(Number.isInteger(x?.index) && x.index >= 0 && x.index < n) || out[x.index]) return null;
    out[x.index] = { code: x.code, reason: x.reason };
  }
  for (let i = 0; i < n; i++) out[i] ??= { code: "Success", reason: "" };
  return out;
}

/**
 * A plugin's filter verdict on a cycle of `n` nodes without one object per node: a flag per
 * node (1: rejected) and the rejections, from either form of {@linkcode SchedulingCycleResponse};
 * null when there are none or they do not fit `n`. Pure.
 */
export function rejections(
  r: { filter?: FilterRecord[]; rejected?: RejectionRecord[] } | undefined,
  n: number,
): { flags: Uint8Array; rejected: RejectionRecord[] } | null {
  const flags = new Uint8Array(n);
  if (r?.filter) {
    if (r.filter.length !== n) return null;
    const rejected: RejectionRecord[] = [];
    r.filter.forEach((f, index) => {
      if (f.code === "Success") return;
      flags[index] = 1;
      rejected.push({ index, code: f.code, reason: f.reason });
    });
    return { flags, rejected };
  }
  if (!Array.isArray(r?.rejected)) return null;
  for (const x of r.rejected) {
    if (!(Number.isInteger(x?.index) && x.index >= 0 && x.index < n) || flags[x.index]) return null;
    flags[x.index] = 1;
  }
  return { flags, rejected: r.rejected };
}

/** Parses a quantity of bytes (`64Mi`, `1G`, `1048576`); NaN when malformed. */
export function parseBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) return NaN;
  const mult: Record<string, number> = {
    "": 1,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.floor(Number(m[1]) * mult[m[2] ?? ""]);
}

/** Defaults of the fields every host reads. */
export function pluginDefaults(spec: PluginSpec): Required<Pick<PluginSpec, "failurePolicy" | "timeoutSeconds" | "memory">> {
  return {
    failurePolicy: spec.failurePolicy ?? "Fail",
    timeoutSeconds: spec.timeoutSeconds ?? 10,
    memory: spec.memory ?? "64Mi",
  };
}

/** Whether an upstream admission rule matches a request (webhook rule semantics). */
export function ruleMatches(
  rule: AdmissionRule,
  req: { operation: string; group: string; version: string; resource: string; subresource: string },
): boolean {
  const any = (list: string[] | undefined, v: string) => (list ?? ["*"]).some((x) => x === "*" || x === v);
  if (!any(rule.operations, req.operation)) return false;
  if (!any(rule.apiGroups, req.group) || !any(rule.apiVersions, req.version)) return false;
  const full = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  return (rule.resources ?? ["*"]).some((r) => {
    if (r === "*/*") return true;
    if (r === "*") return !req.subresource;
    if (r.endsWith("/*")) return !!req.subresource && r.slice(0, -2) === req.resource;
    if (r.startsWith("*/")) return !!req.subresource && r.slice(2) === req.subresource;
    return r === full;
  });
}
