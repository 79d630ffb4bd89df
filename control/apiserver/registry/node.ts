/**
 * node.k8s.io/v1 `runtimeclasses`.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { immutableField, validateLabels, validateObjectMeta } from "./metadata.ts";
import { isDNS1123Label, nameIsDNSSubdomain } from "./names.ts";
import { validateTolerations } from "./pod_validation.ts";
import { defaultResourceList, parseQuantity, QUANTITY_FORMAT_ERROR, quantitySign } from "./quantity.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

/** `ValidateRuntimeClass` and `ValidateRuntimeClassUpdate` (the handler is immutable). */
export function validateRuntimeClass(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const handler = typeof obj.handler === "string" ? obj.handler : "";
  for (const msg of isDNS1123Label(handler)) errs.push(fieldError.invalid("handler", handler, msg));
  for (const [k, v] of Object.entries((obj.overhead?.podFixed ?? {}) as Record<string, unknown>)) {
    const q = parseQuantity(v);
    if (!q) errs.push(fieldError.invalid(`overhead.podFixed[${k}]`, v, QUANTITY_FORMAT_ERROR));
    else if (quantitySign(q) < 0) {
      errs.push(
        fieldError.invalid(`overhead.podFixed[${k}]`, String(v), "must be greater than or equal to 0"),
      );
    }
  }
  errs.push(...validateLabels(obj.scheduling?.nodeSelector, "scheduling.nodeSelector"));
  errs.push(...validateTolerations(obj.scheduling?.tolerations, "scheduling.tolerations"));
  if (old) errs.push(...immutableField(obj.handler, old.handler, "handler"));
  return errs;
}

/** RuntimeClasses: how Skiff picks a runtime (OCI or WebAssembly) per pod. */
export const runtimeClasses: ResourceDef = {
  group: "node.k8s.io",
  version: "v1",
  kind: "RuntimeClass",
  listKind: "RuntimeClassList",
  plural: "runtimeclasses",
  singular: "runtimeclass",
  namespaced: false,
  schema: "V1RuntimeClass",
  defaults: (obj) => defaultResourceList(obj.overhead?.podFixed),
  validate: validateRuntimeClass,
  table: {
    columns: [
      nameColumn,
      column(
        "Handler",
        "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.",
      ),
      ageColumn,
    ],
    cells: (obj, now) => [obj.metadata?.name ?? "", obj.handler ?? "", age(obj, now)],
  },
};
