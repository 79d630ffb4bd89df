/**
 * The list helpers of strategic merge patch (upstream `strategicpatch/patch.go`): element types,
 * merge-key lookups, partitioning, and the order rules of
 * `design-proposals-archive/cli/preserve-order-in-strategic-merge-patch.md`:
 * `$setElementOrder` > order in the patch list > order in the live list.
 * @module
 */
import { malformedPatch, patchRejected } from "./errors.ts";
import { goFormat, goTypeName } from "./go_format.ts";

/** A decoded JSON object. */
export type JsonMap = Record<string, unknown>;

/** The `$patch` directive key. */
export const DIRECTIVE = "$patch";

/** Whether `v` is a JSON object (not a list, not null). */
export function isMap(v: unknown): v is JsonMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Go `==` on two decoded JSON scalars (nil equals nil). */
function same(a: unknown, b: unknown): boolean {
  return a === b || (a == null && b == null);
}

/** `mergepatch.ErrNoMergeKey`. */
export function noMergeKey(m: JsonMap, key: string): Error {
  return malformedPatch(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
}

/** `mergepatch.ErrBadArgType` for an expected map or list. */
export function badArgType(expected: "map" | "slice", actual: unknown): Error {
  const want = expected === "map" ? "map[string]interface {}" : "[]interface {}";
  return malformedPatch(`expected a ${want}, but received a ${goTypeName(actual)}`);
}

/** The Go type of the elements of the lists (`sliceElementType`): `map`, `string`, ... */
export function sliceElementType(...lists: unknown[][]): string {
  let prev: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const t = Array.isArray(v) ? "slice" : isMap(v) ? "map" : goTypeName(v);
      if (prev === undefined) {
        prev = t;
        if (t === "slice") throw patchRejected("lists of lists are not supported");
      } else if (prev !== t) {
        throw malformedPatch(`list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  if (prev === undefined) throw malformedPatch("no elements in any of the given slices");
  return prev;
}

/** `findMapInSliceBasedOnKeyValue`: the index of the map whose `key` is `value`, or -1. */
export function findByKey(list: unknown[], key: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isMap(item)) throw malformedPatch(`value for key ${i} is not a map`);
    if (Object.hasOwn(item, key) && item[key] === value) return i;
  }
  return -1;
}

/** `mergeKeyValueEqual`. */
export function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (!mergeKey) return same(left, right);
  if (!isMap(left)) throw badArgType("map", left);
  if (!isMap(right)) throw badArgType("map", right);
  if (!Object.hasOwn(left, mergeKey)) throw noMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw noMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

/** Splits list items into those without and those with `$patch: delete` (`extractToDeleteItems`). */
export function extractToDeleteItems(list: unknown[]): [unknown[], unknown[]] {
  const keep: unknown[] = [];
  const remove: unknown[] = [];
  for (const v of list) {
    if (!isMap(v)) throw badArgType("map", v);
    (Object.hasOwn(v, DIRECTIVE) && v[DIRECTIVE] === "delete" ? remove : keep).push(v);
  }
  return [keep, remove];
}

/** Items of `list` present in `by`, and the others (`partition*ByPresentInList`). */
export function partition(list: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  if (!mergeKey) {
    const set = new Set(by);
    for (const v of list) (set.has(v) ? inPatch : serverOnly).push(v);
    return [inPatch, serverOnly];
  }
  for (const v of list) {
    if (!isMap(v)) throw badArgType("map", v);
    if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
    (findByKey(by, mergeKey, v[mergeKey]) >= 0 ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

/** The position of `value` in `list`, by merge key for maps (`index`). */
function indexOf(list: unknown[], value: unknown, mergeKey: string, kind: string): number {
  const key = (item: unknown) => kind === "map" ? (isMap(item) ? item[mergeKey] : undefined) : item;
  const want = key(value);
  return list.findIndex((item) => same(key(item), want));
}

/** `normalizeSliceOrder`: sorts `list` by `order`; `$patch: delete` items go last. */
function normalizeSliceOrder(list: unknown[], order: unknown[], mergeKey: string, kind: string): unknown[] {
  let toDelete: unknown[] = [];
  if (kind === "map") {
    for (const l of [list, order]) {
      for (const item of l) {
        if (!isMap(item)) throw badArgType("map", item);
        if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      }
    }
    [list, toDelete] = extractToDeleteItems(list);
  }
  const sorted = [...list].sort((a, b) => {
    const ia = indexOf(order, a, mergeKey, kind);
    const ib = indexOf(order, b, mergeKey, kind);
    return ia >= 0 && ib >= 0 ? ia - ib : 0;
  });
  return [...sorted, ...toDelete];
}

/**
 * `mergeSortedSlice`: interleaves server-only items (`left`) into patch items (`right`), keeping
 * each list's order; a server-only item goes first only when it precedes the patch item in the
 * live list.
 */
function mergeSortedSlice(
  left: unknown[],
  right: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: string,
): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexOf(serverOrder, left[i], mergeKey, kind);
      const ri = indexOf(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/**
 * `normalizeElementOrder`: sorts the patch items by `patchOrder` and the server-only items by
 * `serverOrder`, then merges the two.
 */
export function normalizeElementOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: string,
): unknown[] {
  const p = normalizeSliceOrder(patchItems, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

/** A Go slice over a shared array: writes within its capacity show through `live`. */
export class GoSlice {
  readonly live: unknown[];
  #array: unknown[];
  len: number;

  constructor(original: unknown[]) {
    this.live = [...original];
    this.#array = this.live;
    this.len = original.length;
  }

  get items(): unknown[] {
    return this.#array.slice(0, this.len);
  }

  set(i: number, v: unknown): void {
    this.#array[i] = v;
  }

  /** `append(s[:i], s[i+1:]...)`. */
  delete(i: number): void {
    for (let k = i; k < this.len - 1; k++) this.#array[k] = this.#array[k + 1];
    this.len--;
  }

  /** `append(s, v)`: in place while there is room, else into a new array. */
  append(v: unknown): void {
    if (this.#array === this.live && this.len >= this.live.length) {
      this.#array = this.#array.slice(0, this.len);
    }
    this.#array[this.len++] = v;
  }
}
