/**
 * The shape of one entry in the resource registry. Adding a kind to the API is one small
 * declarative {@link ResourceDef}: names, scope, discovery data, defaulting, validation, table
 * columns, selectable fields and subresources.
 * @module
 */
import type { StatusCause } from "./status.ts";
import type { KubeObject } from "./types.ts";

/** One `metav1.TableColumnDefinition`. `priority: 1` columns show only with `-o wide`. */
export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description?: string;
  priority?: number;
}

/** How a kind renders as a `meta.k8s.io/v1` Table: columns plus a row function. */
export interface TableSpec {
  columns: TableColumn[];
  /** Cells for one object, in column order. `now` is injected so rows are pure. */
  cells(obj: KubeObject, now: number): unknown[];
}

/** The `scale` subresource: where replicas live in the object. */
export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** Context handed to defaulting and validation. */
export interface ResourceContext {
  /** The operation being admitted. */
  operation: "CREATE" | "UPDATE";
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind?: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Verbs served on the main resource; defaults to all eight. */
  verbs?: string[];
  subresources?: {
    status?: boolean;
    scale?: ScaleSpec;
    /** Other subresources (binding, log, exec, ...) handled by dedicated handlers. */
    other?: string[];
  };
  /**
   * Name of this kind's type in the schema table (control/api/schema), used for Strict field
   * validation, strategic merge patch metadata and OpenAPI. Absent for custom resources, which
   * carry their own openAPIV3Schema.
   */
  schema?: string;
  /**
   * `false` for a built-in kind that, like a custom resource, has no upstream protobuf message
   * (skiff.dev Plugins): protobuf request bodies get 415 UnsupportedMediaType. Default true.
   */
  protobuf?: boolean;
  /**
   * Removes, in place, the fields this kind does not define and returns their paths in upstream's
   * format (`spec.foo`). Custom resources implement it from their openAPIV3Schema; built-in kinds
   * leave it unset and the server uses the schema table named by `schema`.
   */
  pruneUnknown?(obj: KubeObject): string[];
  /** Whether `metadata.generation` is maintained (bumped on spec changes). */
  generation?: boolean;
  /** Fills defaults in place, as upstream's defaulting functions do. */
  defaults?(obj: KubeObject, ctx: ResourceContext): void;
  /** Returns field errors; an empty list means valid. `old` is set on update. */
  validate?(obj: KubeObject, old?: KubeObject, subresource?: string): StatusCause[];
  table?: TableSpec;
  /** Selectable fields beyond metadata.name and metadata.namespace. */
  fields?(obj: KubeObject): Record<string, string>;
  /** Spec fields that may not change on update (validated generically). */
  immutable?: string[];
}

/** The storage key prefix of a resource: `pods`, `deployments.apps`. */
export function resourceKey(def: Pick<ResourceDef, "group" | "plural">): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

/** Selectable fields of any object: metadata.name, metadata.namespace, plus the kind's own. */
export function selectableFields(def: ResourceDef, obj: KubeObject): Record<string, string> {
  const base: Record<string, string> = {
    "metadata.name": obj.metadata.name ?? "",
    "metadata.namespace": obj.metadata.namespace ?? "",
  };
  return def.fields ? { ...base, ...def.fields(obj) } : base;
}
