/**
 * Unknown fields of built-in kinds. Upstream decodes bodies into Go structs, which drops every
 * field the struct does not declare; with `fieldValidation=Strict` (kubectl's default) the
 * dropped fields are reported instead. {@link pruneUnknown} does both halves: it removes the
 * fields and returns their paths in upstream's format.
 * @module
 */
import { type FieldType, typeOf } from "./table.ts";

/** Fields every object has, whatever its type declares. */
const ALWAYS_KNOWN = new Set(["apiVersion", "kind", "metadata"]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function prune(value: unknown, type: FieldType, path: string, out: string[]): void {
  switch (type.kind) {
    case "object": {
      if (!isPlainObject(value)) return;
      const fields = typeOf(type.name);
      if (!fields) return;
      for (const key of Object.keys(value)) {
        const sub = Object.hasOwn(fields, key) ? fields[key] : undefined;
        if (sub) prune(value[key], sub, join(path, key), out);
        else if (!(path === "" && ALWAYS_KNOWN.has(key))) {
          out.push(join(path, key));
          delete value[key];
        }
      }
      return;
    }
    case "array":
      if (Array.isArray(value)) value.forEach((item, i) => prune(item, type.items, `${path}[${i}]`, out));
      return;
    case "map":
      if (isPlainObject(value)) {
        for (const key of Object.keys(value)) prune(value[key], type.values, join(path, key), out);
      }
      return;
    default:
      return;
  }
}

/**
 * Removes, in place, every field of `obj` that type `typeName` does not define, at any depth, and
 * returns their paths in document order as upstream's strict decoder reports them:
 * `spec.foo`, `spec.template.spec.containers[0].bogus`, `spec.selector.matchLabels` keys are free.
 * Fields typed `any` (RawExtension, JSON) and map keys accept anything. Values of the wrong JSON
 * type are left alone (they are a decoding error, not an unknown field).
 *
 * @throws Error when `typeName` is not in the schema table.
 * @example
 * ```ts
 * const pod = { apiVersion: "v1", kind: "Pod", metadata: {}, spec: { foo: 1, containers: [] } };
 * pruneUnknown(pod, "V1Pod"); // ["spec.foo"], and pod.spec.foo is gone
 * ```
 */
export function pruneUnknown(obj: unknown, typeName: string): string[] {
  if (!typeOf(typeName)) throw new Error(`schema table has no type ${typeName}`);
  const out: string[] = [];
  prune(obj, { kind: "object", name: typeName }, "", out);
  return out;
}

/**
 * The unknown fields of `obj` (see {@link pruneUnknown}), without changing it.
 *
 * @example
 * ```ts
 * unknownFields({ metadata: {}, spec: { replicas: 1, replica: 2 } }, "V1Deployment"); // ["spec.replica"]
 * ```
 */
export function unknownFields(obj: unknown, typeName: string): string[] {
  return pruneUnknown(structuredClone(obj), typeName);
}
