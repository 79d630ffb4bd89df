/**
 * The scheduler framework's vocabulary: the projected pod and node views plugins read, the
 * `Status` they answer with, the cycle state they share, and the plugin interfaces (PreFilter,
 * Filter, PreScore, Score) as upstream's `pkg/scheduler/framework/interface.go`.
 *
 * Plugins never see whole Kubernetes objects: {@link PodView} and {@link NodeView} are small
 * records with the fields plugins need (requests already parsed to integers, selectors already
 * parsed). The Wasm scheduler plugins implement the same interfaces over the same records.
 * @module
 */
import type { LabelSelector } from "../api/selector.ts";

/** The highest score a Score plugin gives a node (upstream `MaxNodeScore`). */
export const MAX_NODE_SCORE = 100;

/**
 * Resource amounts as integers: cpu in millicores, memory and ephemeral-storage in bytes, and
 * extended resources (e.g. `nvidia.com/gpu`) in their integer units.
 */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended and other scalar resources; null when there are none. */
  scalar: Record<string, number> | null;
}

/** A node's allocatable resources plus the number of pods it accepts. */
export interface Allocatable extends Resources {
  pods: number;
}

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

export interface Taint {
  key: string;
  value: string;
  effect: TaintEffect;
}

export interface Toleration {
  key: string;
  /** `Equal` (also for empty) or `Exists`. */
  operator: string;
  value: string;
  /** Empty matches every effect. */
  effect: string;
}

/** One `NodeSelectorRequirement` (matchExpressions) or field requirement (matchFields). */
export interface NodeSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
  values: string[];
}

/** One `NodeSelectorTerm`: all its requirements must hold. A term with none matches nothing. */
export interface NodeSelectorTerm {
  matchExpressions: NodeSelectorRequirement[];
  matchFields: NodeSelectorRequirement[];
}

export interface PreferredSchedulingTerm {
  weight: number;
  term: NodeSelectorTerm;
}

/**
 * A parsed `PodAffinityTerm`. `namespaces` is already defaulted (the pod's own namespace when
 * both the list and the namespace selector are empty); `selector` null matches no pod.
 */
export interface AffinityTerm {
  namespaces: string[];
  /** null: only `namespaces`; an empty list: every namespace. */
  namespaceSelector: LabelSelector | null;
  selector: LabelSelector | null;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** A parsed `TopologySpreadConstraint`. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  /** With matchLabelKeys merged in; null matches no pod. */
  selector: LabelSelector | null;
  minDomains: number;
  nodeAffinityPolicy: "Honor" | "Ignore";
  nodeTaintsPolicy: "Honor" | "Ignore";
}

/** A container port bound on the node. */
export interface HostPort {
  hostIP: string;
  protocol: string;
  port: number;
}

/** What the pod's RuntimeClass contributes; `error` when it cannot be honoured. */
export interface RuntimeClassView {
  name: string;
  /** The CRI handler the node must advertise in `status.runtimeHandlers`; "" when not found. */
  handler: string;
  /** Why the pod cannot be scheduled because of its RuntimeClass (not found, selector conflict). */
  error?: string;
}

/** The projected pod every plugin reads. Built once per scheduling attempt (or cache insert). */
export interface PodView {
  /** `namespace/name`. */
  key: string;
  uid: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The bound or assumed node; "" for a pending pod. */
  nodeName: string;
  schedulerName: string;
  /** `spec.priority`, or resolved from its PriorityClass. */
  priority: number;
  preemptionPolicy: "PreemptLowerPriority" | "Never";
  /** Set when `spec.priorityClassName` names no PriorityClass. */
  priorityError?: string;
  /** Effective requests: max(sum of containers + sidecars, any init container) + overhead. */
  requests: Resources;
  /** cpu and memory requests with upstream's defaults (100m, 200Mi) for containers without one. */
  nonZeroMilliCPU: number;
  nonZeroMemory: number;
  /** spec.nodeSelector (merged with the RuntimeClass's); null when empty. */
  nodeSelector: Record<string, string> | null;
  /** requiredDuringScheduling node affinity terms (ORed); null when absent. */
  requiredNodeAffinity: NodeSelectorTerm[] | null;
  preferredNodeAffinity: PreferredSchedulingTerm[];
  tolerations: Toleration[];
  spreadConstraints: SpreadConstraint[];
  requiredAffinity: AffinityTerm[];
  requiredAntiAffinity: AffinityTerm[];
  preferredAffinity: WeightedAffinityTerm[];
  preferredAntiAffinity: WeightedAffinityTerm[];
  runtimeClass: RuntimeClassView | null;
  /** Host ports the containers ask for (hostPort > 0). */
  hostPorts: HostPort[];
  /** metadata.deletionTimestamp is set. */
  terminating: boolean;
  /** A DisruptionTarget=True condition with reason PreemptionByScheduler is set. */
  preemptedByScheduler: boolean;
  /** status.startTime (or creationTimestamp) in ms since the epoch. */
  startTime: number;
  nominatedNodeName: string;
  /** Why the pod's spec could not be projected (a malformed selector), if it could not. */
  invalid?: string;
}

/** The projected node. */
export interface NodeView {
  name: string;
  labels: Record<string, string>;
  unschedulable: boolean;
  taints: Taint[];
  allocatable: Allocatable;
  /** Names in status.runtimeHandlers; null when the node reports none. */
  runtimeHandlers: string[] | null;
}

/** The outcome codes of upstream's framework `Status`. Success is represented by `null`. */
export type Code = "Error" | "Unschedulable" | "UnschedulableAndUnresolvable" | "Skip";

/** A non-success plugin answer: the code, the reasons (shown to users), and who said it. */
export interface Status {
  code: Code;
  reasons: string[];
  plugin?: string;
}

/** Builds a status. */
export function status(code: Code, ...reasons: string[]): Status {
  return { code, reasons };
}

/** Whether the status rejects the pod (Unschedulable or UnschedulableAndUnresolvable). */
export function isRejected(s: Status | null): boolean {
  return s !== null && (s.code === "Unschedulable" || s.code === "UnschedulableAndUnresolvable");
}

/** The message of a status: its reasons joined with ", " (upstream `Status.Message`). */
export function statusMessage(s: Status | null): string {
  return s ? s.reasons.join(", ") : "";
}

/** Per-cycle data a plugin stores in PreFilter/PreScore and reads later; cloned for preemption. */
export interface StateData {
  clone(): StateData;
}

/** The scratchpad of one scheduling attempt, as upstream's `CycleState`. */
export class CycleState {
  readonly #data = new Map<string, StateData>();
  /** Filter plugins whose PreFilter answered Skip. */
  skipFilter = new Set<string>();
  /** Score plugins whose PreScore answered Skip. */
  skipScore = new Set<string>();
  /** The Filter plugins to run (set by the framework once per cycle). */
  activeFilters: FilterPlugin[] | null = null;

  read<T extends StateData>(key: string): T | undefined {
    return this.#data.get(key) as T | undefined;
  }

  write(key: string, value: StateData): void {
    this.#data.set(key, value);
  }

  /** A copy whose data can be changed without touching this one (preemption's dry runs). */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.#data) c.#data.set(k, v.clone());
    c.skipFilter = this.skipFilter;
    c.skipScore = this.skipScore;
    c.activeFilters = this.activeFilters;
    return c;
  }
}

/** What a Filter plugin sees of a node: its view plus what is placed on it. */
export interface NodeInfoView {
  readonly node: NodeView;
  /** Pods bound or assumed on the node. */
  readonly pods: readonly PodView[];
  /** Sum of the pods' requests. */
  readonly requested: Resources;
  readonly nonZeroRequested: { milliCPU: number; memory: number };
  /** Pods with any (anti-)affinity term. */
  readonly podsWithAffinity: number;
  /** Pods with required anti-affinity terms. */
  readonly podsWithRequiredAntiAffinity: number;
}

/** Read access to the cluster as of this scheduling cycle (upstream's snapshot lister). */
export interface Snapshot {
  /** Every node, in the scheduler's iteration order. */
  nodes(): readonly NodeInfoView[];
  get(name: string): NodeInfoView | undefined;
  /** Nodes hosting at least one pod with (anti-)affinity terms. */
  nodesWithAffinityPods(): readonly NodeInfoView[];
  /** Nodes hosting at least one pod with required anti-affinity terms. */
  nodesWithRequiredAntiAffinityPods(): readonly NodeInfoView[];
  /** The labels of a namespace (for namespaceSelector); undefined when unknown. */
  namespaceLabels(namespace: string): Record<string, string> | undefined;
}

/** A PreFilter plugin may narrow the nodes to evaluate. */
export interface PreFilterResult {
  nodeNames: Set<string>;
}

/** Kinds of cluster change that may make a rejected pod schedulable (upstream `ClusterEvent`). */
export type ClusterEvent =
  | "NodeAdd"
  | "NodeDelete"
  | "NodeAllocatable"
  | "NodeLabel"
  | "NodeTaint"
  | "NodeCondition"
  | "NodeRuntimeHandlers"
  | "AssignedPodAdd"
  | "AssignedPodUpdate"
  | "AssignedPodDelete"
  | "RuntimeClassChange"
  | "PriorityClassChange"
  | "NamespaceChange"
  /** A PersistentVolumeClaim, PersistentVolume or StorageClass was added or changed (VolumeBinding). */
  | "PersistentVolumeChange"
  /** Pods left unschedulable too long are retried, whatever rejected them. */
  | "UnschedulableTimeout";

export interface Plugin {
  readonly name: string;
  /** Cluster events after which a pod this plugin rejected is worth retrying. */
  readonly events: readonly ClusterEvent[];
}

export interface PreFilterPlugin extends Plugin {
  /**
   * Runs once per attempt before any Filter. Returns null (go on), a Status (Skip: this plugin's
   * Filter has nothing to check; a rejection fails the pod on every node), or a node subset.
   */
  preFilter(state: CycleState, pod: PodView, snapshot: Snapshot): Status | PreFilterResult | null;
  /** Keeps PreFilter state right when preemption adds or removes a pod on a node. */
  addPod?(state: CycleState, pod: PodView, added: PodView, node: NodeInfoView): void;
  removePod?(state: CycleState, pod: PodView, removed: PodView, node: NodeInfoView): void;
}

export interface FilterPlugin extends Plugin {
  /** null when the pod fits the node, else why not. */
  filter(state: CycleState, pod: PodView, node: NodeInfoView): Status | null;
}

export interface PreScorePlugin extends Plugin {
  /** Runs once before scoring the feasible nodes; Skip disables this plugin's Score. */
  preScore(
    state: CycleState,
    pod: PodView,
    nodes: readonly NodeInfoView[],
    snapshot: Snapshot,
  ): Status | null;
}

export interface ScorePlugin extends Plugin {
  /** A score for one feasible node (any integer; normalized afterwards if the plugin normalizes). */
  score(state: CycleState, pod: PodView, node: NodeInfoView): number;
  /** Rewrites `scores` (parallel to `nodes`) into [0, MAX_NODE_SCORE]. */
  normalizeScore?(state: CycleState, pod: PodView, nodes: readonly NodeInfoView[], scores: number[]): void;
}

/**
 * A plugin with asynchronous work before the synchronous cycle: the Wasm plugin adapter makes
 * its one batched call to the plugin host here (the pod and every node), and answers Filter and
 * Score from the results.
 */
export interface PrepareCyclePlugin extends Plugin {
  prepareCycle(pod: PodView, nodes: readonly NodeInfoView[]): Promise<void>;
}

/** Type guards, for plugins that implement several extension points. */
export function isPreFilter(p: Plugin): p is PreFilterPlugin {
  return typeof (p as PreFilterPlugin).preFilter === "function";
}
export function isFilter(p: Plugin): p is FilterPlugin {
  return typeof (p as FilterPlugin).filter === "function";
}
export function isPreScore(p: Plugin): p is PreScorePlugin {
  return typeof (p as PreScorePlugin).preScore === "function";
}
export function isPrepareCycle(p: Plugin): p is PrepareCyclePlugin {
  return typeof (p as PrepareCyclePlugin).prepareCycle === "function";
}
export function isScore(p: Plugin): p is ScorePlugin {
  return typeof (p as ScorePlugin).score === "function";
}
