/**
 * Field-error constructors for cases `fieldError` (control/api/status.ts) does not cover: values
 * that upstream prints with Go's `%#v` rather than `%q`, and the NotFound / TooMany types.
 * Plus the Go value formatting those messages need.
 * @module
 */
import type { StatusCause } from "../../api/status.ts";

/** `Invalid value: <repr>: <detail>` with a preformatted value. */
export function invalidRepr(field: string, repr: string, detail: string): StatusCause {
  return { reason: "FieldValueInvalid", field, message: `Invalid value: ${repr}: ${detail}` };
}

/** `Unsupported value: <repr>: supported values: "a", "b"` with a preformatted value. */
export function notSupportedRepr(field: string, repr: string, supported: string[]): StatusCause {
  return {
    reason: "FieldValueNotSupported",
    field,
    message: `Unsupported value: ${repr}: supported values: ${supported.map((s) => `"${s}"`).join(", ")}`,
  };
}

/** `Duplicate value: <repr>`. */
export function duplicateRepr(field: string, repr: string): StatusCause {
  return { reason: "FieldValueDuplicate", field, message: `Duplicate value: ${repr}` };
}

/** `Not found: "<value>"`. */
export function notFoundCause(field: string, value: unknown): StatusCause {
  return { reason: "FieldValueNotFound", field, message: `Not found: ${JSON.stringify(value)}` };
}

/** `Too many: <n>: must have at most <max> items`. */
export function tooMany(field: string, actual: number, max: number): StatusCause {
  return {
    reason: "FieldValueTooMany",
    field,
    message: `Too many: ${actual}: must have at most ${max} items`,
  };
}

/** Go's `%q` for a string. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's `%#v` for a `map[string]string`. */
export function goStringMap(m: Record<string, string> | undefined | null): string {
  if (!m) return "map[string]string(nil)";
  const body = Object.keys(m).sort().map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(", ");
  return `map[string]string{${body}}`;
}

/** Go's `%#v` for a `[]string`. */
export function goStringSlice(a: string[] | undefined | null): string {
  if (!a) return "[]string(nil)";
  return `[]string{${a.map((s) => goQuote(String(s))).join(", ")}}`;
}

interface SelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Go's `%#v` for a `metav1.LabelSelector`, as in "field is immutable" messages. */
export function goLabelSelector(sel: SelectorLike | undefined | null): string {
  if (!sel) return "null";
  const exprs = sel.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${
      sel.matchExpressions.map((e) =>
        `v1.LabelSelectorRequirement{Key:${goQuote(e.key)}, Operator:${goQuote(e.operator)}, Values:${
          goStringSlice(e.values)
        }}`
      ).join(", ")
    }}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprs}}`;
}
