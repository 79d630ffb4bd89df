/**
 * `IntOrString` fields such as `maxSurge: 25%`, resolved against a total as upstream's
 * `intstr.GetScaledValueFromIntOrPercent`: percentages round up or down as the caller says.
 *
 * @example
 * ```ts
 * scaledValue("25%", 10, true);  // 3
 * scaledValue("25%", 10, false); // 2
 * scaledValue(4, 10, false);     // 4
 * ```
 * @module
 */

/** Resolves an int or a `"N%"` string against `total`. Throws on any other string. */
export function scaledValue(
  value: number | string | undefined | null,
  total: number,
  roundUp: boolean,
): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return value;
  const m = /^(-?\d+)%$/.exec(value);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const pct = Number(m[1]);
  const exact = (pct * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}
