/**
 * The default profile: which plugins run, in which order (Filter order decides which reason a
 * node reports when several plugins would reject it), and each Score plugin's weight — as
 * upstream's default `KubeSchedulerConfiguration` (v1), plus Skiff's RuntimeClass and
 * PriorityClass checks.
 * @module
 */
import type { Plugin } from "../types.ts";
import { balancedAllocation } from "./balanced_allocation.ts";
import { interPodAffinity } from "./inter_pod_affinity.ts";
import { nodeAffinity } from "./node_affinity.ts";
import { nodeName } from "./node_name.ts";
import { nodePorts } from "./node_ports.ts";
import { nodeResourcesFit } from "./node_resources_fit.ts";
import { nodeUnschedulable } from "./node_unschedulable.ts";
import { podTopologySpread } from "./pod_topology_spread.ts";
import { priorityClass } from "./priority_class.ts";
import { runtimeClass } from "./runtime_class.ts";
import { taintToleration } from "./taint_toleration.ts";

/** A plugin with its Score weight (ignored for plugins that do not score). */
export interface ProfilePlugin {
  plugin: Plugin;
  weight: number;
}

/** The default-scheduler profile. */
export function defaultPlugins(): ProfilePlugin[] {
  return [
    { plugin: priorityClass, weight: 0 },
    { plugin: nodeUnschedulable, weight: 0 },
    { plugin: nodeName, weight: 0 },
    { plugin: taintToleration, weight: 3 },
    { plugin: nodeAffinity, weight: 2 },
    { plugin: runtimeClass, weight: 0 },
    { plugin: nodePorts, weight: 0 },
    { plugin: nodeResourcesFit, weight: 1 },
    { plugin: podTopologySpread, weight: 2 },
    { plugin: interPodAffinity, weight: 2 },
    { plugin: balancedAllocation, weight: 1 },
  ];
}
