/**
 * Resource quantities (`500m`, `64Mi`, `1e3`) as plain numbers, for the node's own arithmetic
 * (downward API values, capacity). Pure. The exact parser with canonical formatting lives in the
 * API server; the node needs only values.
 *
 * @example
 * ```ts
 * quantityValue("250m"); // 0.25
 * quantityValue("64Mi"); // 67108864
 * ```
 * @module
 */

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?[0-9]*\.?[0-9]+|[+-]?[0-9]+\.)([eE][-+]?[0-9]+|[numkMGTPE]i?|Ki)?$/;

/** The value of a quantity, or undefined when it is malformed. */
export function quantityValue(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === "number") return Number.isFinite(q) ? q : undefined;
  const m = q.trim().match(QUANTITY);
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? "";
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  const mult = SUFFIX[suffix];
  return mult === undefined ? undefined : n * mult;
}

/** Millicores of a CPU quantity, rounded up as upstream's `MilliValue`. */
export function milliValue(q: string | number | undefined): number | undefined {
  const v = quantityValue(q);
  return v === undefined ? undefined : Math.ceil(Math.round(v * 1e6) / 1e3);
}
