/**
 * Kubernetes resource quantities (`k8s.io/apimachinery/pkg/api/resource`): parsing, exact
 * comparison and addition, and the canonical string the API server serializes (`0.5` → `500m`,
 * `1024Mi` → `1Gi`, YAML number `1` → `"1"`).
 *
 * Values are held exactly as `mantissa × 10^exponent` with a bigint mantissa.
 *
 * @example
 * ```ts
 * canonicalQuantity("0.5"); // "500m"
 * compareQuantities(parseQuantity("1Gi")!, parseQuantity("1000Mi")!); // 1
 * ```
 * @module
 */

/** How a quantity is written: binary (`Ki`), decimal SI (`k`, `m`) or decimal exponent (`e3`). */
export type QuantityFormat = "BinarySI" | "DecimalSI" | "DecimalExponent";

/** An exact quantity: `mantissa × 10^exponent`, plus the format it was written in. */
export interface Quantity {
  mantissa: bigint;
  exponent: number;
  format: QuantityFormat;
}

/** Upstream's `ErrFormatWrong` text. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([k, v]) => [v, k]));
const BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

const NUMBER = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Parses a quantity (string or JSON number). Returns undefined when it is malformed. */
export function parseQuantity(input: unknown): Quantity | undefined {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return undefined;
    input = String(input);
  }
  if (typeof input !== "string") return undefined;
  const m = input.trim().match(NUMBER);
  if (!m) return undefined;
  const [, sign, whole, frac = "", suffix] = m;
  if (whole === "" && frac === "") return undefined;
  let format: QuantityFormat;
  let exponent = -frac.length;
  let mantissa = BigInt(whole + frac || "0");
  if (suffix in DECIMAL_SUFFIXES) {
    format = "DecimalSI";
    exponent += DECIMAL_SUFFIXES[suffix];
  } else if (suffix in BINARY_SUFFIXES) {
    format = "BinarySI";
    mantissa *= 2n ** BigInt(BINARY_SUFFIXES[suffix]);
  } else if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
    format = "DecimalExponent";
    exponent += Number(suffix.slice(1));
  } else {
    return undefined;
  }
  if (sign === "-") mantissa = -mantissa;
  return roundUp({ mantissa, exponent, format }, -9);
}

/**
 * Rounds away from zero to at most `scale` decimal places (upstream `RoundUp`): values finer
 * than a nano are rounded at parse time, and resource lists are rounded to milli-units.
 */
export function roundUp(q: Quantity, scale: number): Quantity {
  if (q.exponent >= scale) return q;
  const div = pow10(scale - q.exponent);
  const abs = q.mantissa < 0n ? -q.mantissa : q.mantissa;
  let r = abs / div;
  if (r * div !== abs) r += 1n;
  return { mantissa: q.mantissa < 0n ? -r : r, exponent: scale, format: q.format };
}

function align(a: Quantity, b: Quantity): [bigint, bigint] {
  const e = Math.min(a.exponent, b.exponent);
  return [a.mantissa * pow10(a.exponent - e), b.mantissa * pow10(b.exponent - e)];
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The exact sum, in `a`'s format. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  const [x, y] = align(a, b);
  return { mantissa: x + y, exponent: Math.min(a.exponent, b.exponent), format: a.format };
}

/** The sign of a quantity. */
export function quantitySign(q: Quantity): number {
  return q.mantissa < 0n ? -1 : q.mantissa > 0n ? 1 : 0;
}

/** Whether the quantity is a whole number. */
export function isWholeQuantity(q: Quantity): boolean {
  return q.exponent >= 0 || q.mantissa % pow10(-q.exponent) === 0n;
}

/** Upstream `Quantity.String()`: the canonical serialization. */
export function formatQuantity(q: Quantity): string {
  if (q.mantissa === 0n) return "0";
  const negative = q.mantissa < 0n;
  const abs: Quantity = { ...q, mantissa: negative ? -q.mantissa : q.mantissa };
  let format = q.format;
  if (format === "BinarySI") {
    const n = abs.exponent >= 0 ? abs.mantissa * pow10(abs.exponent) : undefined;
    const whole = isWholeQuantity(abs);
    if (compareQuantities(abs, { mantissa: 1024n, exponent: 0, format }) < 0 || !whole) {
      format = "DecimalSI";
    } else {
      let value = n ?? abs.mantissa / pow10(-abs.exponent);
      let power = 0;
      while (value % 1024n === 0n && power < BINARY_BY_POWER.length - 1) {
        value /= 1024n;
        power++;
      }
      return `${negative ? "-" : ""}${value}${BINARY_BY_POWER[power]}`;
    }
  }
  let mantissa = abs.mantissa;
  let exponent = abs.exponent;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const rem = exponent % 3;
  if (rem === 1 || rem === -2) {
    mantissa *= 10n;
    exponent -= 1;
  } else if (rem === 2 || rem === -1) {
    mantissa *= 100n;
    exponent -= 2;
  }
  let suffix: string;
  if (format === "DecimalExponent") suffix = exponent === 0 ? "" : `e${exponent}`;
  else suffix = DECIMAL_BY_EXPONENT.get(exponent) ?? `e${exponent}`;
  return `${negative ? "-" : ""}${mantissa}${suffix}`;
}

/** The canonical form of a quantity string or number; malformed input is returned unchanged. */
export function canonicalQuantity(input: unknown): unknown {
  const q = parseQuantity(input);
  return q ? formatQuantity(q) : input;
}

/**
 * Canonicalizes every value of a `ResourceList` in place, rounding up to milli-units as
 * upstream's `SetDefaults_ResourceList` does. Malformed values are left for validation.
 */
export function defaultResourceList(list: Record<string, unknown> | undefined): void {
  if (!list || typeof list !== "object") return;
  for (const [k, v] of Object.entries(list)) {
    const q = parseQuantity(v);
    if (q) list[k] = formatQuantity(roundUp(q, -3));
  }
}
