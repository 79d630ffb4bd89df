/**
 * Turns an established CustomResourceDefinition into the registry entries the API server serves:
 * one {@link ResourceDef} per served version, with everything kind-specific (defaults, validation,
 * pruning, the kubectl table, selectable fields) derived from that version.
 *
 * Names come from `status.acceptedNames` (what upstream serves), falling back to `spec.names`.
 *
 * @example
 * ```ts
 * for (const def of crdResourceDefs(crd)) registry.add(def); // e.g. widgets.example.com/v1
 * ```
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { findJsonPath } from "./jsonpath.ts";
import { crTable } from "./printer_columns.ts";
import { applyDefaults, pruneUnknown } from "./schema_validate.ts";
import type { CustomResourceDefinition, CustomResourceDefinitionVersion } from "./types.ts";
import { validateCustomResource } from "./validate_cr.ts";

/** `fmt.Sprint` of a selected value, `""` when absent (upstream's selectable field values). */
function fieldValue(obj: KubeObject, jsonPath: string): string {
  const v = findJsonPath(obj, jsonPath)[0];
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The ResourceDef of one served version. */
function versionDef(crd: CustomResourceDefinition, v: CustomResourceDefinitionVersion): ResourceDef {
  const spec = crd.spec;
  const accepted = crd.status?.acceptedNames;
  const names = accepted?.plural && accepted.kind ? accepted : spec.names ?? {};
  const kind = names.kind ?? "";
  const group = spec.group ?? "";
  const version = v.name ?? "";
  const schema = v.schema?.openAPIV3Schema;
  const scale = v.subresources?.scale;
  const selectable = (v.selectableFields ?? []).map((f) => f.jsonPath ?? "").filter(Boolean);
  const def: ResourceDef = {
    group,
    version,
    kind,
    listKind: names.listKind ?? `${kind}List`,
    plural: names.plural ?? "",
    singular: names.singular ?? kind.toLowerCase(),
    namespaced: spec.scope === "Namespaced",
    generation: true,
    // Upstream serves custom resources without protobuf: a protobuf body is 415.
    protobuf: false,
    defaults: (obj) => applyDefaults(obj, schema),
    validate: (obj, old) => validateCustomResource({ group, version, kind, schema, scale }, obj, old),
    pruneUnknown: (obj) => (spec.preserveUnknownFields ? [] : pruneUnknown(obj, schema)),
    table: crTable(v.additionalPrinterColumns),
  };
  if (names.shortNames?.length) def.shortNames = [...names.shortNames];
  if (names.categories?.length) def.categories = [...names.categories];
  if (v.subresources?.status || scale) {
    def.subresources = {};
    if (v.subresources?.status) def.subresources.status = true;
    if (scale) {
      def.subresources.scale = {
        specReplicasPath: scale.specReplicasPath ?? "",
        statusReplicasPath: scale.statusReplicasPath ?? "",
        ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}),
      };
    }
  }
  if (selectable.length) {
    def.fields = (obj) =>
      Object.fromEntries(selectable.map((p) => [p.replace(/^\./, ""), fieldValue(obj, p)]));
  }
  return def;
}

/** One ResourceDef per served version of `crd`, in `spec.versions` order. */
export function crdResourceDefs(crd: CustomResourceDefinition): ResourceDef[] {
  return (crd.spec?.versions ?? []).filter((v) => v.served).map((v) => versionDef(crd, v));
}
