/**
 * Projection of Pod and Node objects into the small records plugins read ({@link PodView},
 * {@link NodeView}). Pure: quantities, selectors and affinity terms are parsed once here, so the
 * per-node Filter and Score calls only compare integers and strings.
 *
 * The pod's RuntimeClass is applied here as upstream's RuntimeClass admission plugin applies it
 * at pod creation: its `scheduling.nodeSelector` is merged into the pod's nodeSelector (a
 * conflicting key makes the pod unschedulable), its `scheduling.tolerations` are added to the
 * pod's, and its `overhead.podFixed` becomes the pod's overhead when the pod has none.
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import { fromLabelSelectorObject, type LabelSelector, type LabelSelectorObject } from "../api/selector.ts";
import { type PriorityClassLookup, resolvePriority } from "./priority.ts";
import { allocatableFrom, podRequests } from "./resources.ts";
import type {
  AffinityTerm,
  HostPort,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  NodeView,
  PodView,
  PreferredSchedulingTerm,
  RuntimeClassView,
  SpreadConstraint,
  Taint,
  TaintEffect,
  Toleration,
  WeightedAffinityTerm,
} from "./types.ts";

/** The fields of a `node.k8s.io/v1` RuntimeClass the scheduler uses. */
export interface RuntimeClassInfo {
  name: string;
  handler: string;
  nodeSelector: Record<string, string> | null;
  tolerations: Toleration[];
  overhead: Record<string, unknown> | null;
}

/** What projecting a pod needs to look up. */
export interface ViewContext {
  priorityClasses: PriorityClassLookup;
  runtimeClass(name: string): RuntimeClassInfo | undefined;
}

/** Projects a RuntimeClass object. */
export function runtimeClassInfo(obj: KubeObject): RuntimeClassInfo {
  const sel = obj.scheduling?.nodeSelector;
  return {
    name: obj.metadata.name ?? "",
    handler: typeof obj.handler === "string" ? obj.handler : "",
    nodeSelector: sel && Object.keys(sel).length ? { ...sel } : null,
    tolerations: (obj.scheduling?.tolerations ?? []).map(toleration),
    overhead: obj.overhead?.podFixed ?? null,
  };
}

/** Untyped JSON from API objects (validated by the API server before it gets here). */
// deno-lint-ignore no-explicit-any
type Json = any;

const EMPTY_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function toleration(t: Json): Toleration {
  return { key: t?.key ?? "", operator: t?.operator ?? "", value: t?.value ?? "", effect: t?.effect ?? "" };
}

function requirement(r: Json): NodeSelectorRequirement {
  return {
    key: r?.key ?? "",
    operator: r?.operator,
    values: Array.isArray(r?.values) ? r.values.map(String) : [],
  };
}

function nodeSelectorTerm(t: Json): NodeSelectorTerm {
  return {
    matchExpressions: (t?.matchExpressions ?? []).map(requirement),
    matchFields: (t?.matchFields ?? []).map(requirement),
  };
}

function selector(obj: LabelSelectorObject | null | undefined): LabelSelector | null {
  return fromLabelSelectorObject(obj ?? null);
}

function affinityTerm(t: Json, namespace: string): AffinityTerm {
  const nsList: string[] = Array.isArray(t?.namespaces) ? t.namespaces : [];
  const nsSel = t?.namespaceSelector ? selector(t.namespaceSelector) : null;
  return {
    namespaces: nsList.length === 0 && nsSel === null ? [namespace] : nsList,
    namespaceSelector: nsSel,
    selector: selector(t?.labelSelector),
    topologyKey: t?.topologyKey ?? "",
  };
}

function weighted(list: Json[] | undefined, namespace: string): WeightedAffinityTerm[] {
  return (list ?? []).map((w) => ({
    ...affinityTerm(w?.podAffinityTerm, namespace),
    weight: Number(w?.weight ?? 0),
  }));
}

function spreadConstraint(c: Json, labels: Record<string, string>): SpreadConstraint {
  let sel = selector(c?.labelSelector);
  const keys: string[] = Array.isArray(c?.matchLabelKeys) ? c.matchLabelKeys : [];
  if (sel && keys.length) {
    const extra: LabelSelector = [];
    for (const k of keys) {
      if (Object.hasOwn(labels, k)) extra.push({ key: k, operator: "=", values: [labels[k]] });
    }
    sel = [...extra, ...sel];
  }
  return {
    maxSkew: Number(c?.maxSkew ?? 1),
    topologyKey: c?.topologyKey ?? "",
    whenUnsatisfiable: c?.whenUnsatisfiable === "ScheduleAnyway" ? "ScheduleAnyway" : "DoNotSchedule",
    selector: sel,
    minDomains: typeof c?.minDomains === "number" ? c.minDomains : 1,
    nodeAffinityPolicy: c?.nodeAffinityPolicy === "Ignore" ? "Ignore" : "Honor",
    nodeTaintsPolicy: c?.nodeTaintsPolicy === "Honor" ? "Honor" : "Ignore",
  };
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return a.key === b.key && a.operator === b.operator && a.value === b.value && a.effect === b.effect;
}

function timeOf(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** Projects a pod. Never throws: a spec it cannot parse is reported in `invalid`. */
export function podView(pod: KubeObject, ctx: ViewContext): PodView {
  const m = pod.metadata;
  const spec = pod.spec ?? {};
  const namespace = m.namespace ?? "";
  const labels = m.labels ?? EMPTY_LABELS;
  const prio = resolvePriority(spec, ctx.priorityClasses);
  let nodeSelector: Record<string, string> | null = spec.nodeSelector && Object.keys(spec.nodeSelector).length
    ? spec.nodeSelector
    : null;
  let tolerations: Toleration[] = (spec.tolerations ?? []).map(toleration);
  let overhead = spec.overhead;
  let runtimeClass: RuntimeClassView | null = null;
  if (spec.runtimeClassName) {
    const rc = ctx.runtimeClass(spec.runtimeClassName);
    if (!rc) {
      runtimeClass = {
        name: spec.runtimeClassName,
        handler: "",
        error: `RuntimeClass "${spec.runtimeClassName}" not found`,
      };
    } else {
      runtimeClass = { name: rc.name, handler: rc.handler };
      if (rc.nodeSelector) {
        const merged = { ...nodeSelector };
        for (const [k, v] of Object.entries(rc.nodeSelector)) {
          if (Object.hasOwn(merged, k) && merged[k] !== v) {
            runtimeClass.error =
              `conflict: runtimeClass.scheduling.nodeSelector[${k}] = ${v}; pod.spec.nodeSelector[${k}] = ${
                merged[k]
              }`;
          }
          merged[k] = v;
        }
        nodeSelector = merged;
      }
      if (rc.tolerations.length) {
        tolerations = [
          ...tolerations,
          ...rc.tolerations.filter((t) => !tolerations.some((o) => sameToleration(o, t))),
        ];
      }
      overhead ??= rc.overhead ?? undefined;
    }
  }
  const requests = podRequests(spec, overhead);
  const nonZero = podRequests(spec, overhead, true);
  const view: PodView = {
    key: `${namespace}/${m.name}`,
    uid: m.uid ?? "",
    namespace,
    name: m.name ?? "",
    labels,
    nodeName: spec.nodeName ?? "",
    schedulerName: spec.schedulerName || "default-scheduler",
    priority: prio.priority,
    preemptionPolicy: prio.preemptionPolicy,
    ...(prio.error ? { priorityError: prio.error } : {}),
    requests,
    nonZeroMilliCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    nodeSelector,
    requiredNodeAffinity: null,
    preferredNodeAffinity: [],
    tolerations,
    spreadConstraints: [],
    requiredAffinity: [],
    requiredAntiAffinity: [],
    preferredAffinity: [],
    preferredAntiAffinity: [],
    runtimeClass,
    hostPorts: hostPorts(spec),
    terminating: Boolean(m.deletionTimestamp),
    preemptedByScheduler: (pod.status?.conditions ?? []).some((
      c: { type?: string; status?: string; reason?: string },
    ) => c.type === "DisruptionTarget" && c.status === "True" && c.reason === "PreemptionByScheduler"),
    startTime: timeOf(pod.status?.startTime) ?? Number.MAX_SAFE_INTEGER,
    nominatedNodeName: pod.status?.nominatedNodeName ?? "",
  };
  try {
    const na = spec.affinity?.nodeAffinity;
    const required = na?.requiredDuringSchedulingIgnoredDuringExecution;
    if (required) view.requiredNodeAffinity = (required.nodeSelectorTerms ?? []).map(nodeSelectorTerm);
    view.preferredNodeAffinity = (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((
      p: Json,
    ): PreferredSchedulingTerm => ({
      weight: Number(p?.weight ?? 0),
      term: nodeSelectorTerm(p?.preference),
    }));
    view.spreadConstraints = (spec.topologySpreadConstraints ?? []).map((c: unknown) =>
      spreadConstraint(c, labels)
    );
    const pa = spec.affinity?.podAffinity;
    const paa = spec.affinity?.podAntiAffinity;
    view.requiredAffinity = (pa?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t: unknown) =>
      affinityTerm(t, namespace)
    );
    view.requiredAntiAffinity = (paa?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((
      t: unknown,
    ) => affinityTerm(t, namespace));
    view.preferredAffinity = weighted(pa?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
    view.preferredAntiAffinity = weighted(paa?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
  } catch (e) {
    view.invalid = (e as Error).message;
  }
  return view;
}

function hostPorts(spec: Json): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const p of c?.ports ?? []) {
      if (typeof p?.hostPort === "number" && p.hostPort > 0) {
        out.push({ hostIP: p.hostIP || "0.0.0.0", protocol: p.protocol || "TCP", port: p.hostPort });
      }
    }
  }
  return out;
}

/** Whether the pod has any inter-pod (anti-)affinity term. */
export function hasAffinity(p: PodView): boolean {
  return p.requiredAffinity.length > 0 || p.requiredAntiAffinity.length > 0 ||
    p.preferredAffinity.length > 0 ||
    p.preferredAntiAffinity.length > 0;
}

const EFFECTS = new Set(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

/** Projects a node. */
export function nodeView(node: KubeObject): NodeView {
  const taints: Taint[] = (node.spec?.taints ?? []).filter((t: Json) => EFFECTS.has(t?.effect)).map((
    t: Json,
  ) => ({
    key: t.key ?? "",
    value: t.value ?? "",
    effect: t.effect as TaintEffect,
  }));
  const handlers = node.status?.runtimeHandlers;
  return {
    name: node.metadata.name ?? "",
    labels: node.metadata.labels ?? EMPTY_LABELS,
    unschedulable: node.spec?.unschedulable === true,
    taints,
    allocatable: allocatableFrom(node.status),
    runtimeHandlers: Array.isArray(handlers) ? handlers.map((h: Json) => String(h?.name ?? "")) : null,
  };
}
