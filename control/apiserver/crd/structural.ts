/**
 * Structural schemas (apiextensions-apiserver `pkg/apiserver/schema`): every `apiextensions.k8s.io/v1`
 * CRD schema must specify a type for every field (except under `x-kubernetes-int-or-string` or
 * `x-kubernetes-preserve-unknown-fields`), keep `anyOf`/`allOf`/`oneOf`/`not` free of structure, and
 * may only name `name`/`generateName` under the root `metadata`. Also the check that `default`
 * values are pruned and valid against their own schema.
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import { child, forbidden, invalid, key, required } from "./field_errors.ts";
import { pruneUnknown } from "./prune.ts";
import { validateSchema } from "./schema_validate.ts";
import type { JSONSchemaProps } from "./types.ts";

type Level = "root" | "item" | "field";

/** Keys `NewStructural` refuses, so no structural validation happens at all. */
const UNSUPPORTED: [keyof JSONSchemaProps, string][] = [
  ["id", "id"],
  ["$schema", "schema"],
  ["$ref", "$ref"],
  ["patternProperties", "patternProperties"],
  ["dependencies", "dependencies"],
  ["additionalItems", "additionalItems"],
  ["definitions", "definitions"],
];

/** The error `NewStructural` returns for `s`, if any. */
export function structuralInitError(s: JSONSchemaProps | undefined): string | undefined {
  if (!s) return undefined;
  for (const [k, name] of UNSUPPORTED) {
    if (s[k] !== undefined && s[k] !== "") return `OpenAPIV3Schema '${name}' is not supported`;
  }
  if (s["x-kubernetes-preserve-unknown-fields"] === false) {
    return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined";
  }
  if (Array.isArray(s.items)) return "OpenAPIV3Schema 'items' must be a schema, but is an array";
  const subs: (JSONSchemaProps | undefined)[] = [
    s.items as JSONSchemaProps | undefined,
    s.not,
    ...(s.allOf ?? []),
    ...(s.anyOf ?? []),
    ...(s.oneOf ?? []),
    ...Object.values(s.properties ?? {}),
    typeof s.additionalProperties === "object" ? s.additionalProperties : undefined,
  ];
  for (const sub of subs) {
    const err = structuralInitError(sub);
    if (err) return err;
  }
  return undefined;
}

/** `ValidateStructural`: invariants and completeness, sorted like upstream (by error text). */
export function validateStructural(schema: JSONSchemaProps, path: string): StatusCause[] {
  const errs = [...invariants(schema, "root", path), ...completeness(schema, path)];
  const text = (c: StatusCause) => `${c.field}: ${c.message}`;
  return errs.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

function itemsOf(s: JSONSchemaProps): JSONSchemaProps | undefined {
  return s.items && !Array.isArray(s.items) ? s.items : undefined;
}

function sortedEntries<T>(m: Record<string, T> | undefined): [string, T][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function isTypeOnly(s: JSONSchemaProps, type: string): boolean {
  return s.type === type && Object.keys(s).length === 1;
}

/** `anyOf: [{type: integer}, {type: string}]`, the int-or-string pattern. */
function isIntOrStringAnyOf(anyOf: JSONSchemaProps[] | undefined): boolean {
  return anyOf?.length === 2 && isTypeOnly(anyOf[0], "integer") && isTypeOnly(anyOf[1], "string");
}

function invariants(s: JSONSchemaProps, lvl: Level, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const items = itemsOf(s);
  if (s.type === "array" && !items) errs.push(required(child(path, "items"), "must be specified"));
  if (items) errs.push(...invariants(items, "item", child(path, "items")));
  for (const [k, v] of sortedEntries(s.properties)) {
    errs.push(...invariants(v, "field", key(child(path, "properties"), k)));
  }
  if (s.additionalProperties !== undefined) {
    if (lvl === "root") {
      errs.push(forbidden(child(path, "additionalProperties"), "must not be used at the root"));
    }
    if (typeof s.additionalProperties === "object") {
      errs.push(...invariants(s.additionalProperties, "field", child(path, "additionalProperties")));
    }
  }
  const intOrString = !!s["x-kubernetes-int-or-string"];
  const embedded = !!s["x-kubernetes-embedded-resource"];
  const preserve = !!s["x-kubernetes-preserve-unknown-fields"];
  if (intOrString && preserve) {
    errs.push(
      invalid(
        child(path, "x-kubernetes-preserve-unknown-fields"),
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  }
  if (intOrString && embedded) {
    errs.push(
      invalid(
        child(path, "x-kubernetes-embedded-resource"),
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  }
  const skipAllOfAnyOf = isIntOrStringAnyOf(s.allOf?.[0]?.anyOf);
  errs.push(...valueValidation(s, isIntOrStringAnyOf(s.anyOf), skipAllOfAnyOf, path));

  const typePath = child(path, "type");
  if (embedded && s.type !== "object") {
    const detail = "must be object if x-kubernetes-embedded-resource is true";
    errs.push(s.type ? invalid(typePath, s.type, detail) : required(typePath, detail));
  } else if (!s.type && !intOrString && !preserve) {
    const where = {
      root: "at the root",
      item: "for specified array items",
      field: "for specified object fields",
    };
    errs.push(required(typePath, `must not be empty ${where[lvl]}`));
  }
  if (embedded && s.additionalProperties !== undefined) {
    errs.push(
      forbidden(
        child(path, "additionalProperties"),
        "must not be used if x-kubernetes-embedded-resource is set",
      ),
    );
  }
  if (lvl === "root" && s.type && s.type !== "object") {
    errs.push(invalid(typePath, s.type, "must be object at the root"));
  }
  const checkMetadata = lvl === "root" || embedded;
  for (const meta of ["kind", "apiVersion"]) {
    const p = s.properties?.[meta];
    if (p && checkMetadata && p.type !== "string") {
      errs.push(invalid(child(key(child(path, "properties"), meta), "type"), p.type ?? "", "must be string"));
    }
  }
  const metadata = s.properties?.metadata;
  if (metadata) {
    errs.push(
      ...metadataInvariants(metadata, checkMetadata, lvl, key(child(path, "properties"), "metadata")),
    );
  }
  if (embedded && !preserve && Object.keys(s.properties ?? {}).length === 0) {
    errs.push(
      required(
        child(path, "properties"),
        "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
      ),
    );
  }
  return errs;
}

function metadataInvariants(
  m: JSONSchemaProps,
  checkMetadata: boolean,
  lvl: Level,
  path: string,
): StatusCause[] {
  const errs: StatusCause[] = [];
  if (checkMetadata && m.type !== "object") {
    errs.push(invalid(child(path, "type"), m.type ?? "", "must be object"));
  }
  if (lvl === "root") {
    const props = Object.keys(m.properties ?? {});
    const onlyNames = props.every((p) => p === "name" || p === "generateName");
    const extra = Object.keys(m).filter((k) =>
      k !== "type" && k !== "default" && !(k === "properties" && onlyNames) &&
      (m as Record<string, unknown>)[k] !== undefined
    );
    if (extra.length > 0) {
      errs.push(
        forbidden(
          path,
          "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ),
      );
    }
  }
  return errs;
}

/** `validateValueValidation`: the combinators of a node, and its pattern. */
function valueValidation(
  s: JSONSchemaProps,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  path: string,
): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!skipAnyOf) s.anyOf?.forEach((v, i) => errs.push(...nested(v, false, key(child(path, "anyOf"), i))));
  s.allOf?.forEach((v, i) =>
    errs.push(...nested(v, skipFirstAllOfAnyOf && i === 0, key(child(path, "allOf"), i)))
  );
  s.oneOf?.forEach((v, i) => errs.push(...nested(v, false, key(child(path, "oneOf"), i))));
  if (s.not) errs.push(...nested(s.not, false, child(path, "not")));
  if (s.pattern) {
    try {
      new RegExp(s.pattern);
    } catch (e) {
      errs.push(
        invalid(
          child(path, "pattern"),
          s.pattern,
          `must be a valid regular expression, but isn't: ${(e as Error).message}`,
        ),
      );
    }
  }
  return errs;
}

/** What may not appear inside `anyOf`/`allOf`/`oneOf`/`not`, with upstream's details. */
const NESTED_FORBIDDEN: [keyof JSONSchemaProps, string][] = [
  ["type", "must be empty to be structural"],
  ["additionalProperties", "must be undefined to be structural"],
  ["default", "must be undefined to be structural"],
  ["title", "must be empty to be structural"],
  ["description", "must be empty to be structural"],
  ["nullable", "must be false to be structural"],
  ["x-kubernetes-preserve-unknown-fields", "must be false to be structural"],
  ["x-kubernetes-embedded-resource", "must be false to be structural"],
  ["x-kubernetes-int-or-string", "must be false to be structural"],
  ["x-kubernetes-list-map-keys", "must be empty to be structural"],
  ["x-kubernetes-list-type", "must be undefined to be structural"],
  ["x-kubernetes-map-type", "must be undefined to be structural"],
  ["x-kubernetes-validations", "must be empty to be structural"],
];

function isSet(v: unknown): boolean {
  if (v === undefined || v === false || v === "" || v === null) return false;
  return !(Array.isArray(v) && v.length === 0);
}

function nested(v: JSONSchemaProps, skipAnyOf: boolean, path: string): StatusCause[] {
  const errs = valueValidation(v, skipAnyOf, false, path);
  const items = itemsOf(v);
  if (items) errs.push(...nested(items, false, child(path, "items")));
  for (const [k, p] of sortedEntries(v.properties)) {
    errs.push(...nested(p, false, key(child(path, "properties"), k)));
  }
  for (const [k, detail] of NESTED_FORBIDDEN) {
    if (
      k === "additionalProperties"
        ? v.additionalProperties !== undefined && v.additionalProperties !== false
        : isSet(v[k])
    ) {
      errs.push(forbidden(child(path, k), detail));
    }
  }
  if (v.properties?.metadata) {
    errs.push(
      forbidden(key(child(path, "properties"), "metadata"), "must not be specified in a nested context"),
    );
  }
  return errs;
}

/** `validateStructuralCompleteness`: the root's combinators may only name specified fields. */
function completeness(s: JSONSchemaProps, path: string): StatusCause[] {
  return completenessOf(s, s, path, path);
}

function nestedCompleteness(
  v: JSONSchemaProps,
  s: JSONSchemaProps | undefined,
  sPath: string,
  vPath: string,
): StatusCause[] {
  if (!s) return [required(sPath, `because it is defined in ${vPath}`)];
  const errs = completenessOf(v, s, sPath, vPath);
  const vItems = itemsOf(v);
  if (vItems) {
    errs.push(...nestedCompleteness(vItems, itemsOf(s), child(sPath, "items"), child(vPath, "items")));
  }
  for (const [k, vf] of sortedEntries(v.properties)) {
    const sf = s.properties && Object.hasOwn(s.properties, k) ? s.properties[k] : undefined;
    if (!sf) {
      errs.push(
        required(
          key(child(sPath, "properties"), k),
          `because it is defined in ${key(child(vPath, "properties"), k)}`,
        ),
      );
    } else {
      errs.push(
        ...nestedCompleteness(vf, sf, key(child(sPath, "properties"), k), key(child(vPath, "properties"), k)),
      );
    }
  }
  return errs;
}

/** The combinators inside a nested clause, checked against the same structural node. */
function completenessOf(v: JSONSchemaProps, s: JSONSchemaProps, sPath: string, vPath: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (v.not) errs.push(...nestedCompleteness(v.not, s, sPath, child(vPath, "not")));
  v.allOf?.forEach((c, i) => errs.push(...nestedCompleteness(c, s, sPath, key(child(vPath, "allOf"), i))));
  v.anyOf?.forEach((c, i) => errs.push(...nestedCompleteness(c, s, sPath, key(child(vPath, "anyOf"), i))));
  v.oneOf?.forEach((c, i) => errs.push(...nestedCompleteness(c, s, sPath, key(child(vPath, "oneOf"), i))));
  return errs;
}

const META_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

/**
 * `ValidateDefaults`: each `default` must survive pruning unchanged and validate against its own
 * schema. Defaults inside resource metadata are only checked against their schema.
 */
export function validateDefaults(schema: JSONSchemaProps, path: string): StatusCause[] {
  return defaults({ ...schema, "x-kubernetes-embedded-resource": true }, path, false);
}

function defaults(s: JSONSchemaProps, path: string, insideMeta: boolean): StatusCause[] {
  const errs: StatusCause[] = [];
  const embedded = !!s["x-kubernetes-embedded-resource"];
  if (embedded) insideMeta = false;
  if (s.default !== undefined) {
    const defaultPath = child(path, "default");
    if (!insideMeta) {
      const pruned = structuredClone(s.default);
      pruneUnknown(pruned, s, { resourceRoot: embedded, pruneNulls: false });
      if (JSON.stringify(pruned) !== JSON.stringify(s.default)) {
        errs.push(invalid(defaultPath, s.default, "must not have unknown fields"));
      }
    }
    errs.push(...validateSchema(s.default, s, defaultPath));
  }
  const items = itemsOf(s);
  if (items) errs.push(...defaults(items, child(path, "items"), insideMeta));
  for (const [k, p] of sortedEntries(s.properties)) {
    errs.push(
      ...defaults(p, key(child(path, "properties"), k), insideMeta || (embedded && META_FIELDS.has(k))),
    );
  }
  return errs;
}
