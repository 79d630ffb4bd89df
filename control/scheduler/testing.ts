/**
 * Builders for scheduler tests (upstream's `st.MakePod()` / `st.MakeNode()`): Pod and Node
 * objects with the fields scheduling reads, their views, and caches holding them.
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import { SchedulerCache } from "./cache.ts";
import { NodeInfo } from "./node_info.ts";
import { type PriorityClassInfo, priorityClassLookup } from "./priority.ts";
import type { NodeView, PodView } from "./types.ts";
import { nodeView, podView, type RuntimeClassInfo, type ViewContext } from "./views.ts";

export interface PodSpecOptions {
  namespace?: string;
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  priority?: number;
  priorityClassName?: string;
  preemptionPolicy?: string;
  node?: string;
  // deno-lint-ignore no-explicit-any
  tolerations?: any[];
  nodeSelector?: Record<string, string>;
  // deno-lint-ignore no-explicit-any
  affinity?: any;
  // deno-lint-ignore no-explicit-any
  spread?: any[];
  runtimeClassName?: string;
  hostPort?: number;
  startTime?: string;
  terminating?: boolean;
  nominatedNodeName?: string;
  schedulerName?: string;
  uid?: string;
}

/** A Pod object with one container. */
export function makePod(name: string, o: PodSpecOptions = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: o.uid ?? `uid-${name}`,
      resourceVersion: "1",
      labels: o.labels,
      ...(o.terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      containers: [{
        name: "c",
        image: "img",
        resources: Object.keys(requests).length ? { requests } : {},
        ...(o.hostPort ? { ports: [{ containerPort: 80, hostPort: o.hostPort }] } : {}),
      }],
      ...(o.node ? { nodeName: o.node } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
      ...(o.preemptionPolicy ? { preemptionPolicy: o.preemptionPolicy } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.spread ? { topologySpreadConstraints: o.spread } : {}),
      ...(o.runtimeClassName ? { runtimeClassName: o.runtimeClassName } : {}),
      ...(o.schedulerName ? { schedulerName: o.schedulerName } : {}),
    },
    status: {
      phase: "Pending",
      ...(o.startTime ? { startTime: o.startTime } : {}),
      ...(o.nominatedNodeName ? { nominatedNodeName: o.nominatedNodeName } : {}),
    },
  };
}

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
  handlers?: string[];
}

/** A Ready Node object (`kubernetes.io/hostname` = name unless labels say otherwise). */
export function makeNode(name: string, o: NodeOptions = {}): KubeObject {
  const list = { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: o.pods ?? "110" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: list,
      allocatable: list,
      conditions: [{ type: "Ready", status: "True" }],
      ...(o.handlers ? { runtimeHandlers: o.handlers.map((name) => ({ name })) } : {}),
    },
  };
}

/** A view context with the given classes. */
export function viewContext(
  classes: PriorityClassInfo[] = [],
  runtimeClasses: RuntimeClassInfo[] = [],
): ViewContext {
  const rc = new Map(runtimeClasses.map((r) => [r.name, r]));
  return { priorityClasses: priorityClassLookup(classes), runtimeClass: (n) => rc.get(n) };
}

/** The view of a pod built with {@link makePod}. */
export function pv(name: string, o: PodSpecOptions = {}, ctx: ViewContext = viewContext()): PodView {
  return podView(makePod(name, o), ctx);
}

/** The view of a node built with {@link makeNode}. */
export function nv(name: string, o: NodeOptions = {}): NodeView {
  return nodeView(makeNode(name, o));
}

/** A NodeInfo holding `pods` (their nodeName is set to the node). */
export function nodeInfo(node: NodeView, pods: PodView[] = []): NodeInfo {
  const info = new NodeInfo(node);
  for (const p of pods) info.addPod({ ...p, nodeName: node.name });
  return info;
}

/** A cache with these nodes and bound pods (each pod's `nodeName` must be set). */
export function cacheWith(nodes: NodeView[], pods: PodView[] = []): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.setNode(n);
  for (const p of pods) c.addPod(p);
  return c;
}
