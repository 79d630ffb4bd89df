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

/** Upstream's path of a field: `spec.containers[0].bogus`. */
function pathOf(stack: ReadonlyArray<string | number>): string {
  let path = "";
  for (const seg of stack) path = typeof seg === "number" ? `${path}[${seg}]` : path ? `${path}.${seg}` : seg;
  return path;
}

/** Walks `value`; `stack` holds the keys and indices leading to it (paths are built only when reported). */
function prune(value: unknown, type: FieldType, stack: Array<string | number>, out: string[]): void {
  switch (type.kind) {
    case "object": {
      if (!isPlainObject(value)) return;
      const fields = typeOf(type.name);
      if (!fields) return;
      for (const key of Object.keys(value)) {
        const sub = Object.hasOwn(fields, key) ? fields[key] : undefined;
        if (sub) {
          stack.push(key);
          prune(value[key], sub, stack, out);
          stack.pop();
        } else if (!(stack.length === 0 && ALWAYS_KNOWN.has(key))) {
          stack.push(key);
          out.push(pathOf(stack));
          stack.pop();
          delete value[key];
        }
      }
      return;
    }
    case "array":
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          stack.push(i);
          prune(value[i], type.items, stack, out);
          stack.pop();
        }
      }
      return;
    case "map":
      if (
        isPlainObject(value) &&
        (type.values.kind === "object" || type.values.kind === "array" || type.values.kind === "map")
      ) {
        for (const key of Object.keys(value)) {
          stack.push(key);
          prune(value[key], type.values, stack, out);
          stack.pop();
        }
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
  prune(obj, { kind: "object", name: typeName }, [], out);
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
