/**
 * The Table of a custom resource (`kubectl get <cr>`), as upstream's CR table convertor builds it
 * (`pkg/registry/customresource/tableconvertor`): a `Name` column, then one column per
 * `additionalPrinterColumns` entry (with its priority, so `priority: 1` shows only with `-o wide`),
 * or a single `Age` column when the version declares none.
 *
 * Cells follow upstream: only the first JSONPath match is shown (so `.a[*].b` shows the first
 * element), missing values are `null` (kubectl prints `<none>`), `string` columns print any value
 * (objects and arrays as JSON), `integer` truncates numbers, and `date` columns render the age of
 * an RFC 3339 timestamp like kubectl's AGE.
 * @module
 */
import type { TableColumn, TableSpec } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { humanDuration } from "../registry/duration.ts";
import { AGE_DESCRIPTION, NAME_DESCRIPTION } from "../registry/table.ts";
import { goJson } from "./field_errors.ts";
import { findJsonPath, parseJsonPath, type PathSegment } from "./jsonpath.ts";
import type { CustomResourceColumnDefinition } from "./types.ts";

/** `serveDefaultColumnsIfEmpty`: the Age column CRs get when no columns are declared. */
export const DEFAULT_COLUMNS: CustomResourceColumnDefinition[] = [
  { name: "Age", type: "date", description: AGE_DESCRIPTION, jsonPath: ".metadata.creationTimestamp" },
];

/** The Table spec for a custom resource version with these printer columns. */
export function crTable(columns: CustomResourceColumnDefinition[] | undefined): TableSpec {
  const cols = columns?.length ? columns : DEFAULT_COLUMNS;
  const defs: TableColumn[] = [
    { name: "Name", type: "string", format: "name", description: NAME_DESCRIPTION, priority: 0 },
    ...cols.map((c) => ({
      name: c.name ?? "",
      type: (c.type ?? "string") as TableColumn["type"],
      format: c.format ?? "",
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    })),
  ];
  const paths = cols.map((c) => parseJsonPath(c.jsonPath ?? ""));
  return {
    columns: defs,
    cells: (obj: KubeObject, now: number) => [
      obj.metadata?.name ?? "",
      ...cols.map((c, i) => cell(obj, paths[i], c.type ?? "string", now)),
    ],
  };
}

function cell(obj: KubeObject, path: PathSegment[] | undefined, type: string, now: number): unknown {
  if (!path) return null;
  const results = findJsonPath(obj, path);
  if (results.length === 0) return null;
  const value = results[0];
  if (value === null || value === undefined) return null;
  switch (type) {
    case "string":
      return typeof value === "object" ? goJson(value) : String(value);
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    case "date":
      return typeof value === "string" ? dateCell(value, now) : null;
    default:
      return null;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** `metav1.Time.UnmarshalQueryParameter` then `ConvertToHumanReadableDateType`. */
function dateCell(value: string, now: number): string {
  if (value === "" || value === "null") return "<unknown>";
  const t = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) return "<invalid>";
  return humanDuration(now - t);
}
