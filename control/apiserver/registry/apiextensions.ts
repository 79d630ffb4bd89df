/**
 * apiextensions.k8s.io/v1 `customresourcedefinitions`: names and table only; CRD defaulting
 * and validation live in control/apiserver/crd/.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { defaultTable } from "./table.ts";

/** CustomResourceDefinitions (upstream serves them with the default Name / Created At table). */
export const customResourceDefinitions: ResourceDef = {
  group: "apiextensions.k8s.io",
  version: "v1",
  kind: "CustomResourceDefinition",
  listKind: "CustomResourceDefinitionList",
  plural: "customresourcedefinitions",
  singular: "customresourcedefinition",
  namespaced: false,
  shortNames: ["crd", "crds"],
  categories: ["api-extensions"],
  subresources: { status: true },
  schema: "V1CustomResourceDefinition",
  generation: true,
  table: defaultTable,
};
