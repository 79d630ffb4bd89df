/**
 * Go's `%v` formatting and `reflect.TypeOf` names of JSON values, so patch error messages read
 * exactly as upstream's (`map: map[image:nginx] does not contain declared merge key: name`).
 * @module
 */

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n); // int64 in upstream's decoder
  const abs = Math.abs(n);
  const s = abs !== 0 && (abs < 1e-4 || abs >= 1e21) ? n.toExponential() : String(n);
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

/** `fmt.Sprintf("%v", value)` for a JSON value: `map[a:1 b:[x y]]`, `<nil>`, `true`. */
export function goFormat(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "number") return formatNumber(value);
  if (Array.isArray(value)) return `[${value.map(goFormat).join(" ")}]`;
  if (typeof value === "object") {
    const entries = Object.keys(value as object).sort().map((k) =>
      `${k}:${goFormat((value as Record<string, unknown>)[k])}`
    );
    return `map[${entries.join(" ")}]`;
  }
  return String(value);
}

/** `reflect.TypeOf(value).String()` for a decoded JSON value, as `%s` prints it. */
export function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return "%!s(<nil>)";
  if (Array.isArray(value)) return "[]interface {}";
  switch (typeof value) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) ? "int64" : "float64";
    default:
      return "map[string]interface {}";
  }
}
