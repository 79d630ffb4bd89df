/**
 * Strategic merge patch, applied as kube-apiserver 1.32 applies it (`StrategicMergeMapPatch` in
 * `k8s.io/apimachinery/pkg/util/strategicpatch/patch.go`, `MergeParallelList` and
 * `IgnoreUnmatchedNulls` on), with the patch metadata of the schema table:
 *
 * - maps merge recursively; `null` deletes a key;
 * - lists with strategy `merge` merge by their merge key (lists of scalars: union), other lists
 *   are replaced;
 * - `$patch: replace | delete` on a map or a list element, `$retainKeys`,
 *   `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`;
 * - new values lose their `null`s and `$patch`ed parts (`discardNullValuesFromPatch`,
 *   `removeDirectives`).
 *
 * Deliberate differences, all on patches upstream rejects or mishandles: `$patch: merge` is
 * accepted as the default it documents (upstream: "unknown patch type" / "merging lists cannot
 * yet be specified"); malformed patches are 400 BadRequest where upstream answers 500; a field
 * missing from the schema merges like a map instead of failing "unable to find api field".
 * @module
 */
import { malformedPatch } from "./errors.ts";
import { goFormat } from "./go_format.ts";
import {
  badArgType,
  DIRECTIVE,
  extractToDeleteItems,
  findByKey,
  GoSlice,
  isMap,
  type JsonMap,
  mergeKeyValueEqual,
  noMergeKey,
  normalizeElementOrder,
  partition,
  sliceElementType,
} from "./smp_lists.ts";
import { lookupField, lookupList, type PatchSchema } from "./smp_schema.ts";
import { setOwn } from "./own.ts";

type Schema = PatchSchema | undefined;

const RETAIN_KEYS = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER = "$setElementOrder";

/** `%s` of a directive value, as Go prints a non-string. */
function goString(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "%!s(<nil>)";
  return `%!s(${typeof v === "number" ? (Number.isInteger(v) ? "int64" : "float64") : "bool"}=${
    goFormat(v)
  })`;
}

function badPatchType(directive: unknown, m: JsonMap): Error {
  return malformedPatch(`unknown patch type: ${goString(directive)} in map: ${goFormat(m)}`);
}

/** `extractKey`: `$setElementOrder/containers` → `containers`. */
function extractKey(key: string, prefix: string, message: string): string {
  const i = key.indexOf("/");
  if (i < 0 || key.slice(0, i) !== prefix) throw malformedPatch(message);
  return key.slice(i + 1);
}

/** `discardNullValuesFromPatch`: drops `null` members of maps, at any depth. */
function discardNulls(v: unknown): void {
  if (Array.isArray(v)) v.forEach(discardNulls);
  else if (isMap(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
  }
}

/** `removeDirectives`: drops maps carrying `$patch`; `keep` is false when `v` itself is one. */
function removeDirectives(v: unknown): { value: unknown; keep: boolean } {
  if (Array.isArray(v)) {
    return {
      value: v.flatMap((x) => {
        const r = removeDirectives(x);
        return r.keep ? [r.value] : [];
      }),
      keep: true,
    };
  }
  if (!isMap(v)) return { value: v, keep: true };
  if (Object.hasOwn(v, DIRECTIVE)) return { value: undefined, keep: false };
  for (const [k, x] of Object.entries(v)) {
    const r = removeDirectives(x);
    if (r.keep) setOwn(v, k, r.value);
    else delete v[k];
  }
  return { value: v, keep: true };
}

/** Sets `original[key]` to a new value from the patch, cleaned as upstream cleans it. */
function takePatchValue(original: JsonMap, key: string, patchV: unknown): void {
  discardNulls(patchV);
  const r = removeDirectives(patchV);
  if (r.keep) setOwn(original, key, r.value);
  else delete original[key];
}

function kindOf(v: unknown): "map" | "slice" | "scalar" {
  return Array.isArray(v) ? "slice" : isMap(v) ? "map" : "scalar";
}

/** `applyRetainKeysDirective`: clears the keys of `original` missing from `$retainKeys`. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw malformedPatch("invalid patch format of retainKeys");
  const retain = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!retain.has(k)) throw malformedPatch("invalid patch format of retainKeys");
  }
  for (const k of Object.keys(original)) if (!retain.has(k)) delete original[k];
}

/** `validatePatchWithSetOrderList`: the patch list must follow the `$setElementOrder` order. */
function validateSetOrder(patchList: unknown[] | undefined, setOrder: unknown[], mergeKey: string): void {
  if (!setOrder.length || !patchList?.length) return;
  const [items] = mergeKey ? extractToDeleteItems(patchList) : [patchList];
  let p = 0;
  let s = 0;
  while (p < items.length && s < setOrder.length) {
    if (isMap(items[p]) && Object.hasOwn(items[p] as JsonMap, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(items[p], setOrder[s], mergeKey)) p++;
    s++;
  }
  if (p < items.length && s >= setOrder.length) {
    throw malformedPatch(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${
        goFormat(setOrder)
      }\n`,
    );
  }
}

/** `mergePatchIntoOriginal`: merges each list named by a `$setElementOrder` and orders it. */
function applySetElementOrder(original: JsonMap, patch: JsonMap, schema: Schema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const setOrder = patch[key];
    delete patch[key];
    if (!Array.isArray(setOrder)) throw badArgType("slice", setOrder);
    const listKey = extractKey(key, SET_ELEMENT_ORDER, "invalid patch format of setElementOrder list");
    const foundOriginal = Object.hasOwn(original, listKey);
    const foundPatch = Object.hasOwn(patch, listKey);
    const originalList = original[listKey];
    const patchList = patch[listKey];
    if (foundOriginal && !Array.isArray(originalList)) throw badArgType("slice", originalList);
    if (foundPatch && !Array.isArray(patchList)) throw badArgType("slice", patchList);
    const meta = lookupList(schema, listKey);
    validateSetOrder(patchList as unknown[] | undefined, setOrder, meta.mergeKey);

    let merged: unknown[];
    let live = foundOriginal ? originalList as unknown[] : [];
    if (foundOriginal && !foundPatch) merged = originalList as unknown[];
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchList).value as unknown[];
    else if (foundOriginal && foundPatch) {
      const result = mergeListField(
        originalList as unknown[],
        patchList as unknown[],
        meta.schema,
        meta.strategy,
        meta.mergeKey,
        false,
      );
      merged = result.merged;
      live = result.live;
    } else continue;

    const [inOrder, serverOnly] = partition(merged, setOrder, meta.mergeKey);
    const serverOrder = live;
    if (!serverOrder.length && !(foundPatch && (patchList as unknown[]).length)) {
      setOwn(original, listKey, merged); // upstream fails "no elements in any of the given slices" here
    } else {
      const kind = sliceElementType(serverOrder, foundPatch ? patchList as unknown[] : []);
      setOwn(
        original,
        listKey,
        normalizeElementOrder(
          inOrder,
          serverOnly,
          setOrder,
          serverOrder,
          meta.mergeKey,
          kind,
        ),
      );
    }
    delete patch[listKey];
  }
}

/**
 * `mergeMap`: applies `patch` to `original` (both are modified; pass copies) and returns the
 * result, which may be a new map when `$patch` directs it.
 */
export function mergeMap(original: JsonMap | undefined, patch: JsonMap, schema: Schema): JsonMap {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === "replace") {
      delete patch[DIRECTIVE];
      return patch;
    }
    if (directive === "delete") return {};
    if (directive !== "merge") throw badPatchType(directive, patch);
    delete patch[DIRECTIVE];
  }
  const out = original ?? {};
  applyRetainKeys(out, patch);
  applySetElementOrder(out, patch, schema);

  for (const [patchKey, patchV] of Object.entries(patch)) {
    let key = patchKey;
    let isDeleteList = false;
    if (patchKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = extractKey(patchKey, DELETE_FROM_PRIMITIVE_LIST, "invalid patch format of primitive list");
      isDeleteList = true;
    }
    if (patchV === null) {
      delete out[key];
      continue;
    }
    if (!Object.hasOwn(out, key) || kindOf(out[key]) !== kindOf(patchV)) {
      if (!isDeleteList) takePatchValue(out, key, patchV);
      continue;
    }
    switch (kindOf(patchV)) {
      case "map": {
        const meta = lookupField(schema, key);
        setOwn(
          out,
          key,
          meta.strategy === "replace"
            ? patchV
            : mergeMap(out[key] as JsonMap, patchV as JsonMap, meta.schema),
        );
        break;
      }
      case "slice": {
        const meta = lookupList(schema, key);
        setOwn(
          out,
          key,
          mergeListField(
            out[key] as unknown[],
            patchV as unknown[],
            meta.schema,
            meta.strategy,
            meta.mergeKey,
            isDeleteList,
          ).merged,
        );
        break;
      }
      default:
        takePatchValue(out, key, patchV);
    }
  }
  return out;
}

/**
 * The result of merging a list, and what the caller's copy of the original list holds afterwards:
 * upstream deletes and appends in place (Go slices sharing one array), and the
 * `$setElementOrder` ordering then reads that array back as the "live" order. Reproducing it
 * keeps the order of server-only items next to added ones identical to upstream's.
 */
interface ListMerge {
  merged: unknown[];
  live: unknown[];
}

/** `mergeSliceHandler`: merge lists (and deletion lists) merge; others are replaced. */
function mergeListField(
  original: unknown[],
  patch: unknown[],
  items: Schema,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
): ListMerge {
  return strategy === "merge" || isDeleteList
    ? mergeList(original, patch, items, mergeKey, isDeleteList)
    : { merged: patch, live: original };
}

/** `mergeSlice`. */
function mergeList(
  original: unknown[],
  patch: unknown[],
  items: Schema,
  mergeKey: string,
  isDeleteList: boolean,
): ListMerge {
  if (!original.length && !patch.length) return { merged: original, live: original };
  const kind = sliceElementType(original, patch);
  if (kind !== "map") {
    if (isDeleteList) {
      const remove = new Set(patch);
      return { merged: original.filter((v) => !remove.has(v)), live: original };
    }
    const merged = [...new Set([...original, ...patch])];
    const [inPatch, serverOnly] = partition(merged, patch, "");
    return { merged: normalizeElementOrder(inPatch, serverOnly, patch, original, "", kind), live: original };
  }
  if (!mergeKey) {
    throw malformedPatch(`cannot merge lists without merge key for ${items?.kind ?? "interface"}`);
  }
  const list = new GoSlice(original);
  const { rest, replace } = applyListDirectives(list, patch, mergeKey);
  const serverOrder = replace ? rest : list.items;
  const work = replace ? new GoSlice(rest) : list;
  const patchItems = replace ? [] : rest;
  for (const v of patchItems as JsonMap[]) {
    if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
    const i = findByKey(work.items, mergeKey, v[mergeKey]);
    if (i >= 0) work.set(i, mergeMap(work.items[i] as JsonMap, v, items));
    else work.append(v);
  }
  const [inPatch, serverOnly] = partition(work.items, patchItems, mergeKey);
  return {
    merged: normalizeElementOrder(inPatch, serverOnly, patchItems, serverOrder, mergeKey, kind),
    live: list.live,
  };
}

/**
 * `mergeSliceWithSpecialElements`: applies `$patch: delete` items (by merge key) to `list` and
 * notes `$patch: replace`; returns the patch items without directives.
 */
function applyListDirectives(
  list: GoSlice,
  patch: unknown[],
  mergeKey: string,
): { rest: unknown[]; replace: boolean } {
  const rest: unknown[] = [];
  let replace = false;
  for (const v of patch as JsonMap[]) {
    if (!Object.hasOwn(v, DIRECTIVE)) {
      rest.push(v);
      continue;
    }
    switch (v[DIRECTIVE]) {
      case "delete": {
        if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
        for (
          let i = findByKey(list.items, mergeKey, v[mergeKey]);
          i >= 0;
          i = findByKey(list.items, mergeKey, v[mergeKey])
        ) {
          list.delete(i);
        }
        break;
      }
      case "replace":
        replace = true;
        break;
      case "merge":
        break;
      default:
        throw badPatchType(v[DIRECTIVE], v);
    }
  }
  return { rest, replace };
}
