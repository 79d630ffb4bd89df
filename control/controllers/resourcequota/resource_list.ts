/**
 * `ResourceList` arithmetic for quotas (upstream `pkg/quota/v1/resources.go`): exact sums and
 * differences of quantities, masks, `LessThanOrEqual` with the names that exceed, and the
 * `prettyPrint` form of upstream's "exceeded quota" message. Pure.
 *
 * @example
 * ```ts
 * add({ pods: "1" }, { pods: "2", cpu: "500m" }); // { pods: "3", cpu: "500m" }
 * lessThanOrEqual({ pods: "3" }, { pods: "2" }); // [false, ["pods"]]
 * ```
 * @module
 */
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  type Quantity,
  quantitySign,
} from "../../apiserver/registry/quantity.ts";

/** Resource name → canonical quantity string, as stored in `status.used` and `status.hard`. */
export type ResourceList = Record<string, string>;

const ZERO: Quantity = { mantissa: 0n, exponent: 0, format: "DecimalSI" };

/** The quantity of `name` in `list`, or zero (malformed values count as zero). */
export function quantityOf(list: ResourceList | undefined, name: string): Quantity {
  return parseQuantity(list?.[name]) ?? ZERO;
}

function negate(q: Quantity): Quantity {
  return { ...q, mantissa: -q.mantissa };
}

/** `x + y`; a zero `x` takes `y`'s format, as Go's `Quantity.Add` (so `0 + 128Mi` is `128Mi`). */
function sum(x: Quantity, y: Quantity): Quantity {
  return x.mantissa === 0n ? addQuantities(y, x) : addQuantities(x, y);
}

/** `a + b` for every name in either list. */
export function add(a: ResourceList = {}, b: ResourceList = {}): ResourceList {
  const out: ResourceList = {};
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = parseQuantity(a[name]);
    const y = parseQuantity(b[name]);
    out[name] = formatQuantity(x && y ? sum(x, y) : (x ?? y ?? ZERO));
  }
  return out;
}

/** `a - b` for every name in either list (may be negative). */
export function subtract(a: ResourceList = {}, b: ResourceList = {}): ResourceList {
  const out: ResourceList = {};
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    out[name] = formatQuantity(sum(quantityOf(a, name), negate(quantityOf(b, name))));
  }
  return out;
}

/** `a - b` with negative results clamped to zero (upstream `SubtractWithNonNegativeResult`). */
export function subtractNonNegative(a: ResourceList = {}, b: ResourceList = {}): ResourceList {
  const out = subtract(a, b);
  for (const [name, v] of Object.entries(out)) if (quantitySign(parseQuantity(v)!) < 0) out[name] = "0";
  return out;
}

/** Only the entries of `list` whose names are in `names`. */
export function mask(list: ResourceList = {}, names: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const name of names) if (name in list) out[name] = list[name];
  return out;
}

/** Entries with a non-zero quantity. */
export function removeZeros(list: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [name, v] of Object.entries(list)) if (quantitySign(quantityOf(list, name)) !== 0) out[name] = v;
  return out;
}

/** Names with a negative quantity, sorted. */
export function negativeNames(list: ResourceList): string[] {
  return Object.keys(list).filter((n) => quantitySign(quantityOf(list, n)) < 0).sort();
}

/**
 * Whether every entry of `a` that `b` also names is `<=` its limit in `b`; the second element
 * lists the names that exceed (upstream `LessThanOrEqual`).
 */
export function lessThanOrEqual(a: ResourceList, b: ResourceList): [boolean, string[]] {
  const exceeded: string[] = [];
  for (const name of Object.keys(a)) {
    if (!(name in b)) continue;
    if (compareQuantities(quantityOf(a, name), quantityOf(b, name)) > 0) exceeded.push(name);
  }
  return [exceeded.length === 0, exceeded];
}

/** Whether two lists hold the same quantities under the same names. */
export function equals(a: ResourceList = {}, b: ResourceList = {}): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && compareQuantities(quantityOf(a, k), quantityOf(b, k)) === 0);
}

/** Canonical quantity strings (`"0.5"` → `"500m"`); malformed values are dropped. */
export function canonical(list: Record<string, unknown> = {}): ResourceList {
  const out: ResourceList = {};
  for (const [name, v] of Object.entries(list)) {
    const q = parseQuantity(v);
    if (q) out[name] = formatQuantity(q);
  }
  return out;
}

/** Upstream's `prettyPrint`: `name=value` sorted by name, joined with commas. */
export function prettyPrint(list: ResourceList): string {
  return Object.keys(list).sort().map((k) => `${k}=${formatQuantity(quantityOf(list, k))}`).join(",");
}
