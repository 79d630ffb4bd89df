/**
 * Shared pieces of the kubectl tables (`pkg/printers/internalversion/printers.go`): the Name and
 * Age columns, container/image cells, label and selector formatting, and the default
 * `Name, Created At` table upstream serves for kinds without a printer.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { TableColumn, TableSpec } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { since } from "./duration.ts";

/** `ObjectMeta.name`'s swagger doc, upstream's Name column description. */
export const NAME_DESCRIPTION =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/** `ObjectMeta.creationTimestamp`'s swagger doc, upstream's Age column description. */
export const AGE_DESCRIPTION =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** The `Name` column (format `name`). */
export const nameColumn: TableColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description: NAME_DESCRIPTION,
};
/** The `Age` column. */
export const ageColumn: TableColumn = { name: "Age", type: "string", description: AGE_DESCRIPTION };

/** A column; `wide` marks a priority-1 column shown only with `-o wide`. */
export function column(
  name: string,
  description = "",
  opts: { type?: TableColumn["type"]; wide?: boolean } = {},
): TableColumn {
  const c: TableColumn = { name, type: opts.type ?? "string", description };
  if (opts.wide) c.priority = 1;
  return c;
}

/** The wide `Containers` and `Images` columns of workload tables. */
export const containersColumns: TableColumn[] = [
  column("Containers", "Names of each container in the template.", { wide: true }),
  column("Images", "Images referenced by each container in the template.", { wide: true }),
];

/** The Age cell: `translateTimestampSince(creationTimestamp)`. */
export function age(obj: KubeObject, now: number): string {
  return since(obj.metadata?.creationTimestamp, now);
}

/** `layoutContainerCells`: comma-joined container names and images. */
export function containerCells(containers: unknown): [string, string] {
  const list = Array.isArray(containers) ? containers : [];
  return [list.map((c: any) => c?.name ?? "").join(","), list.map((c: any) => c?.image ?? "").join(",")];
}

/** `labels.FormatLabels`: sorted `k=v` pairs, or `<none>`. */
export function formatLabels(labels: unknown): string {
  if (!labels || typeof labels !== "object") return "<none>";
  const m = labels as Record<string, string>;
  const s = Object.keys(m).sort().map((k) => `${k}=${m[k]}`).join(",");
  return s || "<none>";
}

interface SelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const OPS: Record<string, string> = { In: " in ", NotIn: " notin " };

/**
 * `metav1.LabelSelectorAsSelector(sel).String()`: requirements sorted by key; `""` for a nil or
 * empty selector; undefined when an operator is invalid.
 */
export function selectorString(sel: SelectorLike | undefined | null): string | undefined {
  if (!sel) return "";
  const reqs: [string, string][] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push([k, `${k}=${v}`]);
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator in OPS) reqs.push([e.key, `${e.key}${OPS[e.operator]}(${values})`]);
    else if (e.operator === "Exists") reqs.push([e.key, e.key]);
    else if (e.operator === "DoesNotExist") reqs.push([e.key, `!${e.key}`]);
    else return undefined;
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return reqs.map((r) => r[1]).join(",");
}

/** `metav1.FormatLabelSelector`: `<none>` when empty, `<error>` when invalid. */
export function formatLabelSelector(sel: SelectorLike | undefined | null): string {
  const s = selectorString(sel);
  if (s === undefined) return "<error>";
  return s || "<none>";
}

/** Go's `time.RFC3339` rendering of a timestamp, in UTC, without fractional seconds. */
export function rfc3339(timestamp: string | undefined): string {
  if (!timestamp) return "";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? timestamp : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The table upstream's default convertor serves for kinds without a printer: Name, Created At. */
export const defaultTable: TableSpec = {
  columns: [
    nameColumn,
    { name: "Created At", type: "date", description: AGE_DESCRIPTION },
  ],
  cells: (obj) => [obj.metadata?.name ?? "", rfc3339(obj.metadata?.creationTimestamp)],
};
