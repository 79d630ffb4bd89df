/**
 * The apps/v1 group: deployments, replicasets, daemonsets, statefulsets, controllerrevisions.
 *
 * Scale subresource paths follow the CRD convention. For these built-in kinds
 * `labelSelectorPath` points at the structured `metav1.LabelSelector` in `.spec.selector`; the
 * scale handler must render it as a string (`metav1.FormatLabelSelector`) for `status.selector`.
 * @module
 */
import type { ResourceDef, ScaleSpec } from "../../api/resource.ts";
import {
  defaultDaemonSet,
  defaultDeployment,
  defaultReplicaSet,
  defaultStatefulSet,
} from "./apps_defaults.ts";
import {
  validateControllerRevision,
  validateDaemonSet,
  validateDeployment,
  validateReplicaSet,
  validateStatefulSet,
} from "./apps_validation.ts";
import {
  age,
  ageColumn,
  column,
  containerCells,
  containersColumns,
  formatLabels,
  formatLabelSelector,
  nameColumn,
  selectorString,
} from "./table.ts";

const scale: ScaleSpec = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".spec.selector",
};

const selectorColumn = (what: string) =>
  column("Selector", `Label selector for pods. ${what}`, { wide: true });

/** Deployments. */
export const deployments: ResourceDef = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  listKind: "DeploymentList",
  plural: "deployments",
  singular: "deployment",
  namespaced: true,
  shortNames: ["deploy"],
  categories: ["all"],
  subresources: { status: true, scale },
  schema: "V1Deployment",
  generation: true,
  defaults: defaultDeployment,
  validate: validateDeployment,
  table: {
    columns: [
      nameColumn,
      column("Ready", "Number of the pod with ready state"),
      column(
        "Up-to-date",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
      ),
      column(
        "Available",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
      ),
      ageColumn,
      ...containersColumns,
      selectorColumn(
        "Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
      ),
    ],
    cells(obj, now) {
      const [names, images] = containerCells(obj.spec?.template?.spec?.containers);
      const status = obj.status ?? {};
      return [
        obj.metadata?.name ?? "",
        `${status.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`,
        status.updatedReplicas ?? 0,
        status.availableReplicas ?? 0,
        age(obj, now),
        names,
        images,
        selectorString(obj.spec?.selector) ?? "<invalid>",
      ];
    },
  },
};

/** ReplicaSets. */
export const replicaSets: ResourceDef = {
  group: "apps",
  version: "v1",
  kind: "ReplicaSet",
  listKind: "ReplicaSetList",
  plural: "replicasets",
  singular: "replicaset",
  namespaced: true,
  shortNames: ["rs"],
  categories: ["all"],
  subresources: { status: true, scale },
  schema: "V1ReplicaSet",
  generation: true,
  defaults: defaultReplicaSet,
  validate: validateReplicaSet,
  table: {
    columns: [
      nameColumn,
      column("Desired", "Replicas is the number of desired pods.", { type: "integer" }),
      column("Current", "Replicas is the most recently observed number of replicas.", { type: "integer" }),
      column("Ready", "The number of ready replicas for this replica set.", { type: "integer" }),
      ageColumn,
      ...containersColumns,
      selectorColumn("Label keys and values that must match in order to be controlled by this replica set."),
    ],
    cells(obj, now) {
      const [names, images] = containerCells(obj.spec?.template?.spec?.containers);
      return [
        obj.metadata?.name ?? "",
        obj.spec?.replicas ?? 0,
        obj.status?.replicas ?? 0,
        obj.status?.readyReplicas ?? 0,
        age(obj, now),
        names,
        images,
        formatLabelSelector(obj.spec?.selector),
      ];
    },
  },
  fields: (obj) => ({ "status.replicas": String(obj.status?.replicas ?? 0) }),
};

/** DaemonSets. */
export const daemonSets: ResourceDef = {
  group: "apps",
  version: "v1",
  kind: "DaemonSet",
  listKind: "DaemonSetList",
  plural: "daemonsets",
  singular: "daemonset",
  namespaced: true,
  shortNames: ["ds"],
  categories: ["all"],
  subresources: { status: true },
  schema: "V1DaemonSet",
  generation: true,
  defaults: defaultDaemonSet,
  validate: validateDaemonSet,
  table: {
    columns: [
      nameColumn,
      column("Desired", "The total number of nodes that should be running the daemon pod.", {
        type: "integer",
      }),
      column(
        "Current",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
        { type: "integer" },
      ),
      column(
        "Ready",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        { type: "integer" },
      ),
      column("Up-to-date", "The total number of nodes that are running updated daemon pod", {
        type: "integer",
      }),
      column(
        "Available",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
        { type: "integer" },
      ),
      column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
      ageColumn,
      ...containersColumns,
      selectorColumn("A label query over pods that are managed by the daemon set."),
    ],
    cells(obj, now) {
      const [names, images] = containerCells(obj.spec?.template?.spec?.containers);
      const s = obj.status ?? {};
      return [
        obj.metadata?.name ?? "",
        s.desiredNumberScheduled ?? 0,
        s.currentNumberScheduled ?? 0,
        s.numberReady ?? 0,
        s.updatedNumberScheduled ?? 0,
        s.numberAvailable ?? 0,
        formatLabels(obj.spec?.template?.spec?.nodeSelector),
        age(obj, now),
        names,
        images,
        formatLabelSelector(obj.spec?.selector),
      ];
    },
  },
};

/** StatefulSets. */
export const statefulSets: ResourceDef = {
  group: "apps",
  version: "v1",
  kind: "StatefulSet",
  listKind: "StatefulSetList",
  plural: "statefulsets",
  singular: "statefulset",
  namespaced: true,
  shortNames: ["sts"],
  categories: ["all"],
  subresources: { status: true, scale },
  schema: "V1StatefulSet",
  generation: true,
  defaults: defaultStatefulSet,
  validate: validateStatefulSet,
  table: {
    columns: [
      nameColumn,
      column("Ready", "Number of the pod with ready state"),
      ageColumn,
      ...containersColumns,
    ],
    cells(obj, now) {
      const [names, images] = containerCells(obj.spec?.template?.spec?.containers);
      return [
        obj.metadata?.name ?? "",
        `${obj.status?.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`,
        age(obj, now),
        names,
        images,
      ];
    },
  },
};

/** `formatResourceName` of the controlling owner: `statefulset.apps/web`. */
function controllerName(
  obj: {
    metadata?: {
      ownerReferences?: { apiVersion?: string; kind?: string; name?: string; controller?: boolean }[];
    };
  },
): string {
  const ref = (obj.metadata?.ownerReferences ?? []).find((r) => r.controller);
  if (!ref) return "<none>";
  const av = ref.apiVersion ?? "";
  const group = av.includes("/") ? av.slice(0, av.indexOf("/")) : "";
  const kind = ref.kind ?? "";
  if (!kind && !group) return ref.name ?? "";
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${ref.name ?? ""}`;
}

/** ControllerRevisions. */
export const controllerRevisions: ResourceDef = {
  group: "apps",
  version: "v1",
  kind: "ControllerRevision",
  listKind: "ControllerRevisionList",
  plural: "controllerrevisions",
  singular: "controllerrevision",
  namespaced: true,
  schema: "V1ControllerRevision",
  validate: validateControllerRevision,
  table: {
    columns: [
      nameColumn,
      column("Controller", "Controller of the object"),
      column("Revision", "Revision indicates the revision of the state represented by Data."),
      ageColumn,
    ],
    cells: (obj, now) => [obj.metadata?.name ?? "", controllerName(obj), obj.revision ?? 0, age(obj, now)],
  },
};

/** Every apps/v1 resource. */
export const appsResources: ResourceDef[] = [
  deployments,
  replicaSets,
  daemonSets,
  statefulSets,
  controllerRevisions,
];
