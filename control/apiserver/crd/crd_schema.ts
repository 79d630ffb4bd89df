/**
 * Static validation of one CRD `openAPIV3Schema` (upstream's `validateCustomResourceDefinitionValidation`
 * and `ValidateCustomResourceDefinitionOpenAPISchema`): forbidden keywords, structural rules,
 * defaults, list/map extensions, the root restrictions of the status subresource, and the static
 * checks of `x-kubernetes-validations` rules (which are stored but not evaluated).
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import { child, forbidden, invalid, key, notSupported } from "./field_errors.ts";
import { rules, schemaExtensions } from "./schema_extensions.ts";
import { structuralInitError, validateDefaults, validateStructural } from "./structural.ts";
import type { JSONSchemaProps } from "./types.ts";

/** Checks that upstream relaxes on update when the old CRD already violated them. */
export interface SchemaOptions {
  requireStructural: boolean;
  requireValidPropertyType: boolean;
  requireAtomicSetType: boolean;
  requireMapListKeysMapSetValidation: boolean;
}

export const STRICT: SchemaOptions = {
  requireStructural: true,
  requireValidPropertyType: true,
  requireAtomicSetType: true,
  requireMapListKeysMapSetValidation: true,
};

const OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS = new Set(["metadata", "kind", "apiVersion"]);

/** JSON keys in the order of upstream's internal `JSONSchemaProps` struct, with their Go names. */
const GO_FIELDS: [keyof JSONSchemaProps, string][] = [
  ["id", "ID"],
  ["$schema", "Schema"],
  ["$ref", "Ref"],
  ["description", "Description"],
  ["type", "Type"],
  ["nullable", "Nullable"],
  ["format", "Format"],
  ["title", "Title"],
  ["default", "Default"],
  ["maximum", "Maximum"],
  ["exclusiveMaximum", "ExclusiveMaximum"],
  ["minimum", "Minimum"],
  ["exclusiveMinimum", "ExclusiveMinimum"],
  ["maxLength", "MaxLength"],
  ["minLength", "MinLength"],
  ["pattern", "Pattern"],
  ["maxItems", "MaxItems"],
  ["minItems", "MinItems"],
  ["uniqueItems", "UniqueItems"],
  ["multipleOf", "MultipleOf"],
  ["enum", "Enum"],
  ["maxProperties", "MaxProperties"],
  ["minProperties", "MinProperties"],
  ["required", "Required"],
  ["items", "Items"],
  ["allOf", "AllOf"],
  ["oneOf", "OneOf"],
  ["anyOf", "AnyOf"],
  ["not", "Not"],
  ["properties", "Properties"],
  ["additionalProperties", "AdditionalProperties"],
  ["patternProperties", "PatternProperties"],
  ["dependencies", "Dependencies"],
  ["additionalItems", "AdditionalItems"],
  ["definitions", "Definitions"],
  ["externalDocs", "ExternalDocs"],
  ["example", "Example"],
  ["x-kubernetes-preserve-unknown-fields", "XPreserveUnknownFields"],
  ["x-kubernetes-embedded-resource", "XEmbeddedResource"],
  ["x-kubernetes-int-or-string", "XIntOrString"],
  ["x-kubernetes-list-map-keys", "XListMapKeys"],
  ["x-kubernetes-list-type", "XListType"],
  ["x-kubernetes-map-type", "XMapType"],
  ["x-kubernetes-validations", "XValidations"],
];

const ALLOWED_AT_STATUS_ROOT = [
  "Description",
  "Type",
  "Format",
  "Title",
  "Maximum",
  "ExclusiveMaximum",
  "Minimum",
  "ExclusiveMinimum",
  "MaxLength",
  "MinLength",
  "Pattern",
  "MaxItems",
  "MinItems",
  "UniqueItems",
  "MultipleOf",
  "Required",
  "Items",
  "Properties",
  "ExternalDocs",
  "Example",
  "XPreserveUnknownFields",
  "XValidations",
];

/** Whether a schema value is set (non-zero in Go terms; numbers and `default` are pointers there). */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/**
 * Validates `validation` (a version's `schema`, or the shared one) at field path `path`
 * (`spec.validation` or `spec.versions[i].schema`).
 */
export function validateCrdSchema(
  validation: { openAPIV3Schema?: JSONSchemaProps } | undefined,
  statusEnabled: boolean,
  path: string,
  options: SchemaOptions = STRICT,
): StatusCause[] {
  const schema = validation?.openAPIV3Schema;
  if (!schema) return [];
  const schemaPath = child(path, "openAPIV3Schema");
  const errs: StatusCause[] = [];
  if (statusEnabled) errs.push(...statusRoot(schema, schemaPath));
  if (schema.nullable) {
    errs.push(forbidden(child(schemaPath, "nullable"), "nullable cannot be true at the root"));
  }

  let initErrs: StatusCause[] = [];
  if (options.requireStructural) {
    const initError = structuralInitError(schema);
    if (initError) initErrs = [invalid(schemaPath, "", initError)];
    else {
      const structural = validateStructural(schema, schemaPath);
      errs.push(...(structural.length ? structural : validateDefaults(schema, schemaPath)));
    }
  }
  errs.push(
    ...walk(schema, schemaPath, { allowDefaults: true, reason: "", insideMeta: false }, true, options),
  );
  return errs.length === 0 ? initErrs : errs;
}

function statusRoot(schema: JSONSchemaProps, schemaPath: string): StatusCause[] {
  for (const [k, goName] of GO_FIELDS) {
    const pointer = k === "default" || k === "example" || k === "x-kubernetes-preserve-unknown-fields";
    if (pointer ? schema[k] === undefined : !isSet(schema[k])) continue;
    if (goName === "Type") {
      if (schema.type !== "object") {
        return [
          invalid(
            child(schemaPath, "type"),
            schema.type,
            `only "object" is allowed as the type at the root of the schema if the status subresource is enabled`,
          ),
        ];
      }
      continue;
    }
    if (!ALLOWED_AT_STATUS_ROOT.includes(goName)) {
      return [
        invalid(
          schemaPath,
          schema,
          `only [${
            ALLOWED_AT_STATUS_ROOT.join(" ")
          }] fields are allowed at the root of the schema if the status subresource is enabled`,
        ),
      ];
    }
  }
  return [];
}

interface Ssv {
  allowDefaults: boolean;
  reason: string;
  insideMeta: boolean;
}

function forbidDefaults(ssv: Ssv, reason: string): Ssv {
  return { ...ssv, allowDefaults: false, reason };
}

/** `specStandardValidatorV3.validate`: keywords CRD schemas may not use. */
function standard(s: JSONSchemaProps, path: string, ssv: Ssv, options: SchemaOptions): StatusCause[] {
  const errs: StatusCause[] = [];
  if (options.requireValidPropertyType && s.type && !OPENAPI_TYPES.includes(s.type)) {
    errs.push(notSupported(child(path, "type"), s.type, OPENAPI_TYPES));
  }
  if (s.default !== undefined && !ssv.allowDefaults) {
    errs.push(forbidden(child(path, "default"), `must not be set${ssv.reason ? ` ${ssv.reason}` : ""}`));
  }
  if (s.id) errs.push(forbidden(child(path, "id"), "id is not supported"));
  if (s.additionalItems !== undefined) {
    errs.push(forbidden(child(path, "additionalItems"), "additionalItems is not supported"));
  }
  if (isSet(s.patternProperties)) {
    errs.push(forbidden(child(path, "patternProperties"), "patternProperties is not supported"));
  }
  if (isSet(s.definitions)) errs.push(forbidden(child(path, "definitions"), "definitions is not supported"));
  if (s.dependencies !== undefined) {
    errs.push(forbidden(child(path, "dependencies"), "dependencies is not supported"));
  }
  if (s.$ref !== undefined) errs.push(forbidden(child(path, "$ref"), "$ref is not supported"));
  if (s.type === "null") {
    errs.push(forbidden(child(path, "type"), "type cannot be set to null, use nullable as an alternative"));
  }
  if (Array.isArray(s.items) && s.items.length) {
    errs.push(forbidden(child(path, "items"), "items must be a schema object and not an array"));
  }
  if (ssv.insideMeta && s["x-kubernetes-embedded-resource"]) {
    errs.push(
      forbidden(child(path, "x-kubernetes-embedded-resource"), "must not be used inside of resource meta"),
    );
  }
  return errs;
}

function walk(
  s: JSONSchemaProps,
  path: string,
  ssv: Ssv,
  isRoot: boolean,
  options: SchemaOptions,
): StatusCause[] {
  const errs = standard(s, path, ssv, options);
  if (s.uniqueItems) {
    errs.push(
      forbidden(
        child(path, "uniqueItems"),
        "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      ),
    );
  }
  const additional = s.additionalProperties;
  if (additional !== undefined) {
    if (isSet(s.properties) && (additional === false || typeof additional === "object")) {
      errs.push(
        forbidden(
          child(path, "additionalProperties"),
          "additionalProperties and properties are mutual exclusive",
        ),
      );
    }
    if (typeof additional === "object") {
      const sub = ssv.insideMeta
        ? forbidDefaults(ssv, "inside additionalProperties applying to object metadata")
        : ssv;
      errs.push(...walk(additional, child(path, "additionalProperties"), sub, false, options));
    }
  }
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    let sub = ssv;
    if ((isRoot || s["x-kubernetes-embedded-resource"]) && META_FIELDS.has(k)) {
      sub = { ...sub, insideMeta: true };
      if (isRoot) sub = forbidDefaults(sub, `in top-level ${k}`);
    }
    errs.push(...walk(p, key(child(path, "properties"), k), sub, false, options));
  }
  if (s.not) errs.push(...walk(s.not, child(path, "not"), ssv, false, options));
  for (const name of ["allOf", "oneOf", "anyOf"] as const) {
    s[name]?.forEach((sub, i) => errs.push(...walk(sub, key(child(path, name), i), ssv, false, options)));
  }
  for (const [k, d] of Object.entries(s.definitions ?? {})) {
    errs.push(...walk(d, key(child(path, "definitions"), k), ssv, false, options));
  }
  if (Array.isArray(s.items)) {
    s.items.forEach((it, i) => errs.push(...walk(it, key(child(path, "items"), i), ssv, false, options)));
  } else if (s.items) errs.push(...walk(s.items, child(path, "items"), ssv, false, options));
  for (const [k, d] of Object.entries(s.dependencies ?? {})) {
    if (!Array.isArray(d)) errs.push(...walk(d, key(child(path, "dependencies"), k), ssv, false, options));
  }
  errs.push(...schemaExtensions(s, path, options));
  errs.push(...rules(s, path));
  return errs;
}
