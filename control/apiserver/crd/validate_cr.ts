/**
 * Validation of one custom resource, in the order of upstream's CR strategy: type meta (early
 * return), `metadata.name` on create, the `openAPIV3Schema`, the scale subresource's replica and
 * selector fields, embedded resources, then set/map list uniqueness.
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { validateEmbedded } from "./embedded.ts";
import { invalid, required } from "./field_errors.ts";
import { validateListTypes } from "./list_type.ts";
import { dns1123Subdomain } from "./names.ts";
import { validateSchema } from "./schema_validate.ts";
import type { CustomResourceSubresourceScale, JSONSchemaProps } from "./types.ts";

/** What one served version of a CRD needs to validate its objects. */
export interface CustomResourceType {
  group: string;
  version: string;
  kind: string;
  schema?: JSONSchemaProps;
  scale?: CustomResourceSubresourceScale;
}

/** Causes for `obj`; `old` is set on update. */
export function validateCustomResource(
  type: CustomResourceType,
  obj: KubeObject,
  old?: KubeObject,
): StatusCause[] {
  const typeErrs: StatusCause[] = [];
  if (obj.kind !== type.kind) typeErrs.push(invalid("kind", obj.kind ?? "", `must be ${type.kind}`));
  const apiVersion = `${type.group}/${type.version}`;
  if (obj.apiVersion !== apiVersion) {
    typeErrs.push(invalid("apiVersion", obj.apiVersion ?? "", `must be ${apiVersion}`));
  }
  if (typeErrs.length) return typeErrs;

  const errs: StatusCause[] = [];
  if (!old) errs.push(...validateName(obj));
  if (type.schema) errs.push(...validateSchema(obj, type.schema));
  if (type.scale) errs.push(...validateScale(obj, type.scale));
  errs.push(...validateEmbedded(obj, type.schema));
  errs.push(...validateListTypes(obj, type.schema));
  return errs;
}

function validateName(obj: KubeObject): StatusCause[] {
  const name = obj.metadata?.name ?? "";
  if (!name) {
    return obj.metadata?.generateName ? [] : [required("metadata.name", "name or generateName is required")];
  }
  return dns1123Subdomain(name).map((m) => invalid("metadata.name", name, m));
}

/** Go's `%T` of a decoded JSON value. */
function goType(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float64";
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

/** Go's `%v` of a decoded JSON value. */
function goPrint(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goPrint).join(" ")}]`;
  if (typeof v === "object" && v !== null) {
    const m = v as Record<string, unknown>;
    return `map[${Object.keys(m).sort().map((k) => `${k}:${goPrint(m[k])}`).join(" ")}]`;
  }
  return String(v);
}

/** `unstructured.NestedFieldNoCopy` + type check, with upstream's accessor error text. */
function nested(obj: unknown, path: string, want: "int64" | "string"): { value?: unknown; error?: string } {
  const fields = path.replace(/^\./, "").split(".");
  let v: unknown = obj;
  for (let i = 0; i < fields.length; i++) {
    if (v === null || v === undefined) return {};
    if (typeof v !== "object" || Array.isArray(v)) {
      const at = `.${fields.slice(0, i + 1).join(".")}`;
      return {
        error: `${at} accessor error: ${goPrint(v)} is of the type ${
          goType(v)
        }, expected map[string]interface{}`,
      };
    }
    const m = v as Record<string, unknown>;
    if (!Object.hasOwn(m, fields[i])) return {};
    v = m[fields[i]];
  }
  if (want === "int64" ? typeof v !== "number" || !Number.isInteger(v) : typeof v !== "string") {
    return {
      error: `.${fields.join(".")} accessor error: ${goPrint(v)} is of the type ${
        goType(v)
      }, expected ${want}`,
    };
  }
  return { value: v };
}

/** `ValidateScaleSpec` and `ValidateScaleStatus`. */
function validateScale(obj: KubeObject, scale: CustomResourceSubresourceScale): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const path of [scale.specReplicasPath, scale.statusReplicasPath]) {
    if (!path) continue;
    const r = nested(obj, path, "int64");
    const n = (r.value as number | undefined) ?? 0;
    if (r.error) errs.push(invalid(path, 0, r.error));
    else if (n < 0) errs.push(invalid(path, n, "should be a non-negative integer"));
    else if (n > 2 ** 31 - 1) errs.push(invalid(path, n, `should be less than or equal to ${2 ** 31 - 1}`));
  }
  if (scale.labelSelectorPath) {
    const r = nested(obj, scale.labelSelectorPath, "string");
    if (r.error) errs.push(invalid(scale.labelSelectorPath, "", r.error));
  }
  return errs;
}
