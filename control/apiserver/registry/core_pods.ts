/**
 * core/v1 `pods` and `podtemplates`.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError } from "../../api/status.ts";
import { validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { defaultPod, defaultPodTemplate } from "./pod_defaults.ts";
import { podIP, podTable } from "./pod_table.ts";
import { validatePod, validatePodTemplateSpec } from "./pod_validation.ts";
import { column, containerCells, formatLabels, nameColumn } from "./table.ts";

/** Pods: the full pod defaults, validation, `printPod` table and upstream's selectable fields. */
export const pods: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Pod",
  listKind: "PodList",
  plural: "pods",
  singular: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  subresources: {
    status: true,
    other: ["binding", "log", "exec", "attach", "portforward", "eviction", "ephemeralcontainers"],
  },
  schema: "V1Pod",
  defaults: defaultPod,
  validate: validatePod,
  table: podTable,
  fields: (pod) => ({
    "spec.nodeName": pod.spec?.nodeName ?? "",
    "spec.restartPolicy": pod.spec?.restartPolicy ?? "",
    "spec.schedulerName": pod.spec?.schedulerName ?? "",
    "spec.serviceAccountName": pod.spec?.serviceAccountName ?? "",
    "spec.hostNetwork": String(pod.spec?.hostNetwork === true),
    "status.phase": pod.status?.phase ?? "",
    "status.podIP": podIP(pod),
    "status.nominatedNodeName": pod.status?.nominatedNodeName ?? "",
  }),
};

/** PodTemplates: a named pod template; mutable, validated like any template. */
export const podTemplates: ResourceDef = {
  group: "",
  version: "v1",
  kind: "PodTemplate",
  listKind: "PodTemplateList",
  plural: "podtemplates",
  singular: "podtemplate",
  namespaced: true,
  schema: "V1PodTemplate",
  defaults: (obj) => defaultPodTemplate(obj.template),
  validate(obj) {
    const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    if (!obj.template) errs.push(fieldError.required("template"));
    else errs.push(...validatePodTemplateSpec(obj.template, "template"));
    return errs;
  },
  table: {
    columns: [
      nameColumn,
      column("Containers", "Names of each container in the template."),
      column("Images", "Images referenced by each container in the template."),
      column("Pod Labels", "The labels for the pod template."),
    ],
    cells(obj) {
      const [names, images] = containerCells(obj.template?.spec?.containers);
      return [obj.metadata?.name ?? "", names, images, formatLabels(obj.template?.metadata?.labels)];
    },
  },
};
