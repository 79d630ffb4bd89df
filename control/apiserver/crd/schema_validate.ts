/**
 * Validation of a custom resource against its `openAPIV3Schema`, with kube-openapi's semantics and
 * messages (`spec.replicas in body must be of type integer: "string"`), converted to causes the way
 * apiextensions-apiserver's `kubeOpenAPIResultToFieldErrors` does. Pruning and defaulting live in
 * `prune.ts` and `defaulting.ts` and are re-exported here.
 *
 * @example
 * ```ts
 * validateSchema({ spec: { replicas: "2" } }, schema);
 * // [{ reason: "FieldValueTypeInvalid", field: "spec.replicas",
 * //    message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"' }]
 * ```
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import { deepEqual } from "../../api/types.ts";
import {
  child,
  goJson,
  invalid,
  notSupported,
  required,
  tooLong,
  tooMany,
  typeInvalid,
} from "./field_errors.ts";
import { effectiveFormat, isStringFormat, matchesFormat } from "./formats.ts";
import type { JSONSchemaProps } from "./types.ts";

export { pruneUnknown } from "./prune.ts";
export { applyDefaults } from "./defaulting.ts";

/** One kube-openapi error: a `*errors.Validation` (with a code) or a plain error (`code: "plain"`). */
interface OpenApiError {
  code: "required" | "enum" | "tooLong" | "maxItems" | "maxProperties" | "type" | "other" | "plain";
  name: string;
  message: string;
  value?: unknown;
  valid?: number;
  values?: unknown[];
}

type Errors = OpenApiError[];

/**
 * Validates `value` against `schema` and returns upstream's causes. `fieldPrefix` is the field path
 * the value lives at (`status` when validating only the status); absent for a whole object.
 */
export function validateSchema(value: unknown, schema: JSONSchemaProps, fieldPrefix?: string): StatusCause[] {
  return validateValue(value, schema, "").map((e) => toCause(e, fieldPrefix));
}

function toCause(e: OpenApiError, prefix: string | undefined): StatusCause {
  if (e.code === "plain") return invalid(prefix ?? "<nil>", "", e.message);
  const field = e.name && e.name !== "." ? child(prefix ?? "", e.name.replace(/^\./, "")) : prefix ?? "<nil>";
  switch (e.code) {
    case "required":
      return required(field);
    case "enum":
      return notSupported(
        field,
        e.value ?? null,
        (e.values ?? []).map((v) => typeof v === "string" ? v : goJson(v)),
      );
    case "tooLong":
      return tooLong(field, e.valid ?? -1);
    case "maxItems":
    case "maxProperties":
      return tooMany(field, (e.value as number) ?? -1, e.valid ?? -1);
    case "type":
      return typeInvalid(field, e.value ?? "", e.message);
    default:
      return invalid(field, e.value ?? "", e.message);
  }
}

/** `%v` of a Go `[]interface{}`: `[a b 1]`. */
function goList(values: unknown[]): string {
  return `[${
    values.map((v) => typeof v === "string" ? v : typeof v === "object" && v ? goJson(v) : String(v)).join(
      " ",
    )
  }]`;
}

function typeError(name: string, typeName: string, value: unknown): OpenApiError {
  const message = typeof value === "string"
    ? `${name} in body must be of type ${typeName}: ${JSON.stringify(value)}`
    : `${name} in body must be of type ${typeName}`;
  return { code: "type", name, message, value };
}

/** The declared types: `x-kubernetes-int-or-string` means `[integer, string]`. */
function typesOf(schema: JSONSchemaProps): string[] {
  if (schema["x-kubernetes-int-or-string"]) return ["integer", "string"];
  return schema.type ? [schema.type] : [];
}

/** The JSON type and format of a decoded value, as kube-openapi's `schemaInfoForType` sees it. */
function infoOf(value: unknown): [string, string] {
  if (typeof value === "boolean") return ["boolean", ""];
  if (typeof value === "string") return ["string", ""];
  if (typeof value === "number") {
    return Number.isInteger(value) ? ["integer", "int64"] : ["number", "float64"];
  }
  if (Array.isArray(value)) return ["array", ""];
  return ["object", ""];
}

function validateValue(data: unknown, schema: JSONSchemaProps, path: string): Errors {
  const types = typesOf(schema);
  const format = effectiveFormat(schema);
  if (data === null || data === undefined) {
    const errs: Errors = [];
    if (types.length > 0 && !schema.nullable) errs.push(typeError(path, types.join(","), "null"));
    return [...errs, ...validateEnum(null, schema, path)];
  }
  return [
    ...validateType(data, types, format, path),
    ...validateCombinators(data, schema, path),
    ...(typeof data === "string" ? validateString(data, schema, path) : []),
    ...(typeof data === "string" && format && isStringFormat(format) && !matchesFormat(format, data)
      ? [typeError(path, format, data)]
      : []),
    ...(typeof data === "number" ? validateNumber(data, schema, types, format, path) : []),
    ...(Array.isArray(data) ? validateArray(data, schema, path) : []),
    ...validateEnum(data, schema, path),
    ...(typeof data === "object" && !Array.isArray(data)
      ? validateObject(data as Record<string, unknown>, schema, path)
      : []),
  ];
}

function validateType(data: unknown, types: string[], format: string, path: string): Errors {
  if (types.length === 0 && !format) return [];
  const [schType, dataFormat] = infoOf(data);
  const isString = typeof data === "string";
  const isSlice = Array.isArray(data);
  const isIntFloat = schType === "integer" && types.includes("number");
  if (!isString && !isSlice && format && !(types.includes(schType) || dataFormat === format || isIntFloat)) {
    return [typeError(path, format, dataFormat)];
  }
  if (!(types.includes("number") || types.includes("integer")) && format && (isString || isSlice)) return [];
  if (!(types.includes(schType) || isIntFloat)) return [typeError(path, types.join(","), schType)];
  return [];
}

function validateCombinators(data: unknown, schema: JSONSchemaProps, path: string): Errors {
  const errs: Errors = [];
  const plain = (message: string): OpenApiError => ({ code: "plain", name: path, message });
  if (schema.anyOf?.length) {
    let best: Errors | undefined;
    let ok = false;
    for (const sub of schema.anyOf) {
      const r = validateValue(data, sub, path);
      if (r.length === 0) {
        ok = true;
        break;
      }
      if (!best || r.length < best.length) best = r;
    }
    if (!ok) {
      errs.push(plain(`${JSON.stringify(path)} must validate at least one schema (anyOf)`), ...(best ?? []));
    }
  }
  if (schema.oneOf?.length) {
    let best: Errors | undefined;
    let valid = 0;
    for (const sub of schema.oneOf) {
      const r = validateValue(data, sub, path);
      if (r.length === 0) valid++;
      else if (valid === 0 && (!best || r.length < best.length)) best = r;
    }
    if (valid !== 1) {
      const more = valid === 0 ? "Found none valid" : `Found ${valid} valid alternatives`;
      errs.push(plain(`${JSON.stringify(path)} must validate one and only one schema (oneOf). ${more}`));
      if (valid === 0) errs.push(...(best ?? []));
    }
  }
  if (schema.allOf?.length) {
    let valid = 0;
    for (const sub of schema.allOf) {
      const r = validateValue(data, sub, path);
      if (r.length === 0) valid++;
      errs.push(...r);
    }
    if (valid !== schema.allOf.length) {
      const more = valid === 0 ? ". None validated" : "";
      errs.push(plain(`${JSON.stringify(path)} must validate all the schemas (allOf)${more}`));
    }
  }
  if (schema.not && validateValue(data, schema.not, path).length === 0) {
    errs.push(plain(`${JSON.stringify(path)} must not validate the schema (not)`));
  }
  return errs;
}

function validateString(data: string, schema: JSONSchemaProps, path: string): Errors {
  const length = [...data].length;
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    return [{
      code: "tooLong",
      name: path,
      value: data,
      valid: schema.maxLength,
      message: `${path} in body should be at most ${schema.maxLength} chars long`,
    }];
  }
  if (schema.minLength !== undefined && length < schema.minLength) {
    return [{
      code: "other",
      name: path,
      value: data,
      message: `${path} in body should be at least ${schema.minLength} chars long`,
    }];
  }
  if (schema.pattern) {
    let re: RegExp | undefined;
    let why = "";
    try {
      re = new RegExp(schema.pattern);
    } catch (e) {
      why = `${schema.pattern}, but pattern is invalid: ${(e as Error).message}`;
    }
    if (!re || !re.test(data)) {
      return [{
        code: "other",
        name: path,
        value: data,
        message: `${path} in body should match '${why || schema.pattern}'`,
      }];
    }
  }
  return [];
}

/** kube-openapi's `IsValueValidAgainstRange`: does `n` fit the declared integer type/format? */
function rangeError(n: number, types: string[], format: string, prefix: string, path: string): Errors {
  if (types.length !== 1 || types[0] !== "integer") return [];
  const fits = Number.isInteger(n) &&
    (format === "int32" ? n >= -(2 ** 31) && n <= 2 ** 31 - 1 : Math.abs(n) <= 2 ** 63);
  if (fits) return [];
  const what = format ? `with format ${format}` : "(default format)";
  return [{
    code: "plain",
    name: path,
    message: `${prefix} value must be of type integer ${what} in ${path}`,
  }];
}

function validateNumber(
  n: number,
  schema: JSONSchemaProps,
  types: string[],
  format: string,
  path: string,
): Errors {
  const fmt = types.length === 1 && types[0] === "integer" && (format === "int32" || format === "int64")
    ? format
    : "";
  const errs: Errors = [...rangeError(n, types, fmt, "Checked", path)];
  const other = (message: string): OpenApiError => ({ code: "other", name: path, value: n, message });
  if (schema.multipleOf !== undefined) {
    const f = schema.multipleOf;
    errs.push(...rangeError(f, types, fmt, "MultipleOf", path));
    if (f <= 0) errs.push(other(`factor MultipleOf declared for ${path} must be positive: ${f}`));
    else {
      const mult = f < 1 ? (1 / f) * n : n / f;
      if (Math.abs(mult - Math.round(mult)) > 1e-9 * Math.max(1, Math.abs(mult))) {
        errs.push(other(`${path} in body should be a multiple of ${f}`));
      }
    }
  }
  const min: Errors = [];
  if (schema.minimum !== undefined) {
    const m = schema.minimum;
    min.push(...rangeError(m, types, fmt, "Minimum boundary", path));
    if (schema.exclusiveMinimum ? n <= m : n < m) {
      min.push(
        other(`${path} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${m}`),
      );
    }
  }
  const max: Errors = [];
  if (schema.maximum !== undefined) {
    const m = schema.maximum;
    max.push(...rangeError(m, types, fmt, "Maximum boundary", path));
    if (schema.exclusiveMaximum ? n >= m : n > m) {
      max.push(
        other(`${path} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${m}`),
      );
    }
  }
  return [...errs, ...min, ...max];
}

function validateArray(data: unknown[], schema: JSONSchemaProps, path: string): Errors {
  const errs: Errors = [];
  const items = schema.items;
  if (items && !Array.isArray(items)) {
    data.forEach((v, i) => errs.push(...validateValue(v, items, `${path}[${i}]`)));
  } else if (Array.isArray(items)) {
    items.forEach((s, i) => i < data.length && errs.push(...validateValue(data[i], s, `${path}[${i}]`)));
  }
  if (schema.minItems !== undefined && data.length < schema.minItems) {
    errs.push({
      code: "other",
      name: path,
      value: data.length,
      message: `${path} in body should have at least ${schema.minItems} items`,
    });
  }
  if (schema.maxItems !== undefined && data.length > schema.maxItems) {
    errs.push({
      code: "maxItems",
      name: path,
      value: data.length,
      valid: schema.maxItems,
      message: `${path} in body should have at most ${schema.maxItems} items`,
    });
  }
  if (schema.uniqueItems && data.some((v, i) => data.slice(0, i).some((u) => deepEqual(u, v)))) {
    errs.push({ code: "other", name: path, message: `${path} in body shouldn't contain duplicates` });
  }
  return errs;
}

function validateEnum(data: unknown, schema: JSONSchemaProps, path: string): Errors {
  if (!schema.enum?.length) return [];
  if (data !== null && schema.enum.some((e) => e !== null && deepEqual(e, data))) return [];
  return [{
    code: "enum",
    name: path,
    value: data,
    values: schema.enum,
    message: `${path} in body should be one of ${goList(schema.enum)}`,
  }];
}

function validateObject(data: Record<string, unknown>, schema: JSONSchemaProps, path: string): Errors {
  const errs: Errors = [];
  const size = Object.keys(data).length;
  if (schema.minProperties !== undefined && size < schema.minProperties) {
    errs.push({
      code: "other",
      name: path,
      value: size,
      message: `${path} in body should have at least ${schema.minProperties} properties`,
    });
  }
  if (schema.maxProperties !== undefined && size > schema.maxProperties) {
    errs.push({
      code: "maxProperties",
      name: path,
      value: size,
      valid: schema.maxProperties,
      message: `${path} in body should have at most ${schema.maxProperties} properties`,
    });
  }
  const props = schema.properties ?? {};
  const additional = schema.additionalProperties;
  for (const k of Object.keys(data)) {
    if (Object.hasOwn(props, k)) continue;
    if (additional === false) {
      errs.push({
        code: "other",
        name: path,
        value: k,
        message: `${path}.${k} in body is a forbidden property`,
      });
    } else if (additional && typeof additional === "object") {
      errs.push(...validateValue(data[k], additional, `${path}.${k}`));
    }
  }
  for (const [k, sub] of Object.entries(props)) {
    if (Object.hasOwn(data, k)) errs.push(...validateValue(data[k], sub, path ? `${path}.${k}` : k));
  }
  for (const k of schema.required ?? []) {
    if (!Object.hasOwn(data, k)) {
      errs.push({ code: "required", name: `${path}.${k}`, message: `${path}.${k} in body is required` });
    }
  }
  return errs;
}
