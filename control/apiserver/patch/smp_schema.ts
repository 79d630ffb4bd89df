/**
 * Patch metadata lookups for strategic merge patch: the counterpart of upstream's
 * `LookupPatchMeta` interface (`PatchMetaFromStruct` reads Go struct tags), with one
 * implementation over the schema table ({@link tableSchema}).
 *
 * No schema (`undefined`) means nothing is known (a field typed `any`, or one the table does not
 * have): maps then merge and lists are replaced, as for a Go map.
 * @module
 */
import { type FieldType, fieldType, patchMeta } from "../../api/schema/mod.ts";

/** The structure of one value, as strategic merge patch needs it. */
export interface PatchSchema {
  /** What upstream's messages call it (`reflect.Kind`): `struct`, `map`, `slice`, ... */
  readonly kind: string;
  /** The schema and patch metadata of `key` in this map-like value. */
  field(key: string): FieldPatchMeta;
  /** The schema of the items, when this is a list. */
  readonly items?: PatchSchema;
}

/** The schema of a field and its patch metadata. */
export interface FieldPatchMeta {
  schema?: PatchSchema;
  /** `x-kubernetes-patch-strategy` (`merge`, `retainKeys`, `merge,retainKeys`, `replace`). */
  strategy?: string;
  /** `x-kubernetes-patch-merge-key`. */
  mergeKey?: string;
}

/** A field's metadata with the strategy split as upstream's `extractRetainKeysPatchStrategy`. */
export interface ResolvedField {
  schema?: PatchSchema;
  strategy: string;
  retainKeys: boolean;
  mergeKey: string;
}

function resolve(meta: FieldPatchMeta, schema: PatchSchema | undefined): ResolvedField {
  const parts = meta.strategy ? meta.strategy.split(",") : [];
  return {
    schema,
    retainKeys: parts.includes("retainKeys"),
    strategy: parts.find((p) => p !== "retainKeys") ?? "",
    mergeKey: meta.mergeKey ?? "",
  };
}

/** `LookupPatchMetadataForStruct`. */
export function lookupField(schema: PatchSchema | undefined, key: string): ResolvedField {
  const meta = schema?.field(key) ?? {};
  return resolve(meta, meta.schema);
}

/** `LookupPatchMetadataForSlice`: like {@link lookupField}, with the schema of the items. */
export function lookupList(schema: PatchSchema | undefined, key: string): ResolvedField {
  const meta = schema?.field(key) ?? {};
  return resolve(meta, meta.schema?.items);
}

const NONE: FieldPatchMeta = {};
const cache = new Map<string, PatchSchema>();

/** The {@link PatchSchema} of a schema-table type (`{ kind: "object", name: "V1Deployment" }`). */
export function tableSchema(type: FieldType | undefined): PatchSchema | undefined {
  switch (type?.kind) {
    case "object": {
      const name = type.name;
      let schema = cache.get(name);
      if (!schema) {
        schema = {
          kind: "struct",
          field: (key) => ({ ...patchMeta(name, key), schema: tableSchema(fieldType(name, key)) }),
        };
        cache.set(name, schema);
      }
      return schema;
    }
    case "map": {
      const values = tableSchema(type.values);
      return { kind: "map", field: () => ({ schema: values }) };
    }
    case "array":
      return { kind: "slice", field: () => NONE, items: tableSchema(type.items) };
    default:
      return undefined;
  }
}
