/**
 * Which nodes a DaemonSet runs on (upstream `NodeShouldRunDaemonPod`), the tolerations every
 * daemon pod gets (`AddOrUpdateDaemonPodTolerations`), and the node affinity that pins a daemon
 * pod to its node so the scheduler binds it there (`ReplaceDaemonSetPodNodeNameNodeAffinity`).
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { requiredAffinityMatches, type Taint, type Toleration, untoleratedTaint } from "./node_match.ts";

/** The tolerations upstream adds to every daemon pod (plus network-unavailable for host network). */
export function daemonPodTolerations(spec: KubeObject["spec"]): Toleration[] {
  const add: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (spec?.hostNetwork) {
    add.push({ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" });
  }
  const out = [...((spec?.tolerations ?? []) as Toleration[])];
  for (const t of add) {
    // AddOrUpdateTolerationInPodSpec: replace a toleration with the same key, operator, value and effect.
    const i = out.findIndex((o) =>
      (o.key ?? "") === t.key && (o.operator ?? "Equal") === t.operator && (o.effect ?? "") === t.effect
    );
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  return out;
}

/** The DaemonSet's pod template with the automatic tolerations (upstream `NewPod`'s spec). */
export function daemonPodSpec(ds: KubeObject): KubeObject["spec"] {
  const spec = structuredClone(ds.spec?.template?.spec ?? {});
  spec.tolerations = daemonPodTolerations(spec);
  return spec;
}

/**
 * Upstream `NodeShouldRunDaemonPod`: `shouldRun` when name, affinity and NoSchedule/NoExecute
 * taints allow a new daemon pod; `shouldContinueRunning` when an existing one may stay (only
 * untolerated NoExecute taints evict).
 */
export function nodeShouldRunDaemonPod(
  node: KubeObject,
  ds: KubeObject,
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const spec = daemonPodSpec(ds);
  const name = node.metadata.name;
  if (spec.nodeName && spec.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  if (!requiredAffinityMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = (node.spec?.taints ?? []) as Taint[];
  const tolerations = spec.tolerations as Toleration[];
  if (untoleratedTaint(taints, tolerations, (t) => t.effect === "NoExecute" || t.effect === "NoSchedule")) {
    const evicting = untoleratedTaint(taints, tolerations, (t) => t.effect === "NoExecute");
    return { shouldRun: false, shouldContinueRunning: !evicting };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/**
 * Upstream `ReplaceDaemonSetPodNodeNameNodeAffinity`: required node affinity reduced to one term
 * matching `metadata.name` = `nodeName`; other affinity parts are kept.
 */
export function pinToNode(affinity: KubeObject["spec"], nodeName: string): KubeObject["spec"] {
  const term = { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] };
  const out = structuredClone(affinity ?? {});
  out.nodeAffinity = { ...(out.nodeAffinity ?? {}) };
  out.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    ...(out.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? {}),
    nodeSelectorTerms: [term],
  };
  return out;
}

/**
 * Upstream `GetTargetNodeName`: the node a daemon pod is on or pinned to (`spec.nodeName`, else
 * the single `metadata.name` value of its required node affinity).
 */
export function targetNodeName(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}
