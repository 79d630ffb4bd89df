/**
 * Pod priority, as upstream's Priority admission plugin resolves it: `spec.priority` when set;
 * else the value of the PriorityClass named by `spec.priorityClassName` (the two built-in system
 * classes included); else the value of the `globalDefault` PriorityClass; else 0. The preemption
 * policy follows the same path (default `PreemptLowerPriority`).
 * @module
 */

/** The fields of a `scheduling.k8s.io/v1` PriorityClass the scheduler uses. */
export interface PriorityClassInfo {
  name: string;
  value: number;
  globalDefault: boolean;
  preemptionPolicy?: string;
}

/** Upstream's built-in classes (`SystemCriticalPriority` = 2,000,000,000). */
export const SYSTEM_PRIORITY_CLASSES: readonly PriorityClassInfo[] = [
  { name: "system-cluster-critical", value: 2_000_000_000, globalDefault: false },
  { name: "system-node-critical", value: 2_000_001_000, globalDefault: false },
];

/** Looks PriorityClasses up by name and finds the global default. */
export interface PriorityClassLookup {
  get(name: string): PriorityClassInfo | undefined;
  globalDefault(): PriorityClassInfo | undefined;
}

/** Projects a PriorityClass object. */
export function priorityClassInfo(
  obj: { metadata: { name?: string }; value?: number; globalDefault?: boolean; preemptionPolicy?: string },
): PriorityClassInfo {
  return {
    name: obj.metadata.name ?? "",
    value: typeof obj.value === "number" ? obj.value : 0,
    globalDefault: obj.globalDefault === true,
    preemptionPolicy: obj.preemptionPolicy,
  };
}

/** A lookup over a fixed list (tests, and the informer-backed one builds on it). */
export function priorityClassLookup(classes: Iterable<PriorityClassInfo>): PriorityClassLookup {
  const byName = new Map<string, PriorityClassInfo>();
  for (const c of SYSTEM_PRIORITY_CLASSES) byName.set(c.name, c);
  let def: PriorityClassInfo | undefined;
  for (const c of classes) {
    byName.set(c.name, c);
    // Upstream allows one global default; with several, the lowest value wins (as admission does).
    if (c.globalDefault && (!def || c.value < def.value)) def = c;
  }
  return { get: (n) => byName.get(n), globalDefault: () => def };
}

/** The resolved priority of a pod. */
export interface ResolvedPriority {
  priority: number;
  preemptionPolicy: "PreemptLowerPriority" | "Never";
  /** Set when the named PriorityClass does not exist. */
  error?: string;
}

function policy(p: string | undefined): "PreemptLowerPriority" | "Never" | undefined {
  return p === "Never" ? "Never" : p === "PreemptLowerPriority" ? "PreemptLowerPriority" : undefined;
}

/** Resolves a pod's priority and preemption policy. */
export function resolvePriority(
  spec: { priority?: number; priorityClassName?: string; preemptionPolicy?: string } | undefined,
  classes: PriorityClassLookup,
): ResolvedPriority {
  const own = policy(spec?.preemptionPolicy);
  const name = spec?.priorityClassName ?? "";
  const cls = name ? classes.get(name) : classes.globalDefault();
  if (typeof spec?.priority === "number") {
    return {
      priority: spec.priority,
      preemptionPolicy: own ?? policy(cls?.preemptionPolicy) ?? "PreemptLowerPriority",
    };
  }
  if (name && !cls) {
    return {
      priority: 0,
      preemptionPolicy: own ?? "PreemptLowerPriority",
      error: `no PriorityClass with name ${name} was found`,
    };
  }
  // The class was not resolved at admission, so a policy in the spec may be a blind default:
  // the class's policy wins, as upstream's Priority admission would have set it.
  return {
    priority: cls?.value ?? 0,
    preemptionPolicy: policy(cls?.preemptionPolicy) ?? own ?? "PreemptLowerPriority",
  };
}
