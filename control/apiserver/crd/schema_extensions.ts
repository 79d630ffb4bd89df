/**
 * Static checks of a CRD schema node's Kubernetes extensions (upstream's
 * `ValidateCustomResourceDefinitionOpenAPISchema`, second half): `x-kubernetes-list-type`,
 * `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`, `x-kubernetes-preserve-unknown-fields`
 * and the `x-kubernetes-validations` rules (stored, not evaluated: CEL is not compiled here).
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import type { SchemaOptions } from "./crd_schema.ts";
import { child, forbidden, invalid, key, notSupported, required } from "./field_errors.ts";
import type { JSONSchemaProps } from "./types.ts";

const RULE_REASONS = [
  "FieldValueDuplicate",
  "FieldValueForbidden",
  "FieldValueInvalid",
  "FieldValueRequired",
];

/** The `x-kubernetes-*` list and map extensions. */
export function schemaExtensions(s: JSONSchemaProps, path: string, options: SchemaOptions): StatusCause[] {
  const errs: StatusCause[] = [];
  const typePath = child(path, "type");
  const listType = s["x-kubernetes-list-type"];
  const mapType = s["x-kubernetes-map-type"];
  const mapKeys = s["x-kubernetes-list-map-keys"] ?? [];
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (s["x-kubernetes-preserve-unknown-fields"] === false) {
    errs.push(
      invalid(child(path, "x-kubernetes-preserve-unknown-fields"), false, "must be true or undefined"),
    );
  }
  if (mapType !== undefined && s.type !== "object") {
    const detail = "must be object if x-kubernetes-map-type is specified";
    errs.push(s.type ? invalid(typePath, s.type, detail) : required(typePath, detail));
  }
  if (mapType !== undefined && mapType !== "atomic" && mapType !== "granular") {
    errs.push(notSupported(child(path, "x-kubernetes-map-type"), mapType, ["atomic", "granular"]));
  }
  if (listType !== undefined && s.type !== "array") {
    const detail = "must be array if x-kubernetes-list-type is specified";
    errs.push(s.type ? invalid(typePath, s.type, detail) : required(typePath, detail));
  } else if (options.requireAtomicSetType && listType === "set" && items) {
    const detail = "must be atomic as item of a list with x-kubernetes-list-type=set";
    const itemsPath = child(path, "items");
    if (
      items.type === "array" && items["x-kubernetes-list-type"] !== undefined &&
      items["x-kubernetes-list-type"] !== "atomic"
    ) {
      errs.push(invalid(child(itemsPath, "x-kubernetes-list-type"), items["x-kubernetes-list-type"], detail));
    } else if (items.type === "object" && items["x-kubernetes-map-type"] !== "atomic") {
      errs.push(
        invalid(child(itemsPath, "x-kubernetes-map-type"), items["x-kubernetes-list-type"] ?? null, detail),
      );
    }
  }
  if (listType !== undefined && !["atomic", "set", "map"].includes(listType)) {
    errs.push(notSupported(child(path, "x-kubernetes-list-type"), listType, ["atomic", "set", "map"]));
  }
  if (mapKeys.length > 0) {
    const detail = "must be map if x-kubernetes-list-map-keys is non-empty";
    const p = child(path, "x-kubernetes-list-type");
    if (listType === undefined) errs.push(required(p, detail));
    else if (listType !== "map") errs.push(invalid(p, listType, detail));
  }
  if (listType === "map") errs.push(...listMap(s, mapKeys, path));
  if (options.requireMapListKeysMapSetValidation) errs.push(...mapSetKeys(s, path));
  return errs;
}

function listMap(s: JSONSchemaProps, mapKeys: string[], path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const keysPath = child(path, "x-kubernetes-list-map-keys");
  const itemsPath = child(path, "items");
  if (mapKeys.length === 0) {
    errs.push(required(keysPath, "must not be empty if x-kubernetes-list-type is map"));
  }
  if (s.items === undefined) {
    errs.push(required(itemsPath, "must have a schema if x-kubernetes-list-type is map"));
  }
  if (Array.isArray(s.items)) {
    errs.push(invalid(itemsPath, s.items, "must only have a single schema if x-kubernetes-list-type is map"));
  }
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (items && items.type !== "object") {
    errs.push(
      invalid(
        child(itemsPath, "type"),
        items.type ?? "",
        "must be object if parent array's x-kubernetes-list-type is map",
      ),
    );
  }
  if (items?.type === "object") {
    const seen = new Set<string>();
    for (const k of mapKeys) {
      const prop = items.properties && Object.hasOwn(items.properties, k) ? items.properties[k] : undefined;
      if (!prop) errs.push(invalid(keysPath, mapKeys, "entries must all be names of item properties"));
      else if (prop.type === "array" || prop.type === "object") {
        errs.push(
          invalid(
            child(key(child(itemsPath, "properties"), k), "type"),
            items.type,
            "must be a scalar type if parent array's x-kubernetes-list-type is map",
          ),
        );
      }
      if (seen.has(k)) errs.push(invalid(keysPath, mapKeys, "must not contain duplicate entries"));
      seen.add(k);
    }
  }
  return errs;
}

/** `validateMapListKeysMapSet`. */
function mapSetKeys(s: JSONSchemaProps, path: string): StatusCause[] {
  const listType = s["x-kubernetes-list-type"];
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (!items || (listType !== "set" && listType !== "map")) return [];
  const errs: StatusCause[] = [];
  const itemsPath = child(path, "items");
  if (items.nullable) {
    errs.push(
      forbidden(
        child(itemsPath, "nullable"),
        `cannot be nullable when x-kubernetes-list-type is ${listType}`,
      ),
    );
  }
  if (listType === "map") {
    const req = new Set(items.required ?? []);
    for (const k of s["x-kubernetes-list-map-keys"] ?? []) {
      const prop = items.properties && Object.hasOwn(items.properties, k) ? items.properties[k] : undefined;
      if (!prop) continue;
      const propPath = key(child(itemsPath, "properties"), k);
      if (!req.has(k) && prop.default === undefined) {
        errs.push(
          required(
            child(propPath, "default"),
            "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
          ),
        );
      }
      if (prop.nullable) {
        errs.push(
          forbidden(
            child(propPath, "nullable"),
            "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
          ),
        );
      }
    }
  }
  return errs;
}

/** Static checks of `x-kubernetes-validations` (CEL is not compiled). */
export function rules(s: JSONSchemaProps, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const newline = /[\n\r]+/;
  (s["x-kubernetes-validations"] ?? []).forEach((r, i) => {
    const p = key(child(path, "x-kubernetes-validations"), i);
    const rule = (r.rule ?? "").trim();
    const message = (r.message ?? "").trim();
    if (!rule) errs.push(required(child(p, "rule"), "rule is not specified"));
    else if (r.message && !message) {
      errs.push(invalid(child(p, "message"), r.message, "must be non-empty if specified"));
    } else if (newline.test(message)) {
      errs.push(invalid(child(p, "message"), r.message, "must not contain line breaks"));
    } else if (newline.test(rule) && !message) {
      errs.push(required(child(p, "message"), "message must be specified if rule contains line breaks"));
    }
    if (r.messageExpression && !r.messageExpression.trim()) {
      errs.push(required(child(p, "messageExpression"), "messageExpression must be non-empty if specified"));
    }
    if (r.reason !== undefined && !RULE_REASONS.includes(r.reason)) {
      errs.push(notSupported(child(p, "reason"), r.reason, RULE_REASONS));
    }
    if (r.fieldPath && !r.fieldPath.trim()) {
      errs.push(invalid(child(p, "fieldPath"), r.fieldPath, "must be non-empty if specified"));
    }
    if (r.fieldPath && newline.test(r.fieldPath)) {
      errs.push(invalid(child(p, "fieldPath"), r.fieldPath, "must not contain line breaks"));
    }
  });
  return errs;
}
