/**
 * RFC 6902 JSON patch with the semantics and messages of the library kube-apiserver uses,
 * `gopkg.in/evanphx/json-patch.v4`:
 *
 * - `replace` of a missing object key adds it (only list indexes are checked);
 * - negative list indexes count from the end;
 * - a missing or `null` `value` is `null`; `test` of a missing key against `null` passes;
 * - an operation that fails aborts the patch with a 422 whose cause is the library's message,
 *   e.g. `testing value /spec/replicas failed: test failed`;
 * - a document that is not a list of objects is a 400 with Go's decoding message;
 * - more than 10000 operations is a 413.
 * @module
 */
import { deepEqual } from "../../api/types.ts";
import { ApiError } from "../../api/status.ts";
import { jsonTypeWord, malformedPatch, patchRejected } from "./errors.ts";
import { setOwn } from "./own.ts";

/** Upstream's `maxJSONPatchOperations`. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

type Operation = Record<string, unknown>;
type Container = Record<string, unknown> | unknown[];

/** A failure of one operation; its message is the library's. */
class OpError extends Error {}

const MISSING = "missing value";
const INVALID_INDEX = "invalid index referenced";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodeKey(k: string): string {
  return k.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** `strconv.Atoi`, or an error message. */
function atoi(key: string): number | string {
  return /^[+-]?\d+$/.test(key)
    ? Number(key)
    : `strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`;
}

function invalidIndex(idx: number): OpError {
  return new OpError(`Unable to access invalid index: ${idx}: ${INVALID_INDEX}`);
}

/** Resolves a list index for get/set/remove: negative counts from the end, must be in range. */
function index(arr: unknown[], key: string): number {
  const idx = atoi(key);
  if (typeof idx === "string") throw new OpError(idx);
  if (idx < -arr.length || idx >= arr.length) throw invalidIndex(idx);
  return idx < 0 ? idx + arr.length : idx;
}

function get(c: Container, key: string): unknown {
  if (Array.isArray(c)) return c[index(c, key)];
  return Object.hasOwn(c, key) ? c[key] : undefined;
}

function add(c: Container, key: string, value: unknown): void {
  if (!Array.isArray(c)) {
    setOwn(c, key, value);
    return;
  }
  if (key === "-") {
    c.push(value);
    return;
  }
  let idx = atoi(key);
  if (typeof idx === "string") throw new OpError(`value was not a proper array index: '${key}': ${idx}`);
  const size = c.length + 1;
  if (idx >= size || idx < -size) throw invalidIndex(idx);
  if (idx < 0) idx += size;
  c.splice(idx, 0, value);
}

function remove(c: Container, key: string): void {
  if (!Array.isArray(c)) {
    if (!Object.hasOwn(c, key)) throw new OpError(`Unable to remove nonexistent key: ${key}: ${MISSING}`);
    delete c[key];
    return;
  }
  c.splice(index(c, key), 1);
}

/** The container holding the last token of `path`, and that token; `undefined` when absent. */
function findObject(doc: Container, path: string): [Container, string] | undefined {
  const split = path.split("/");
  if (split.length < 2) return undefined;
  let c: Container = doc;
  for (const part of split.slice(1, -1)) {
    let next: unknown;
    try {
      next = get(c, decodeKey(part));
    } catch {
      return undefined;
    }
    if (!Array.isArray(next) && !isObject(next)) return undefined;
    c = next;
  }
  return [c, decodeKey(split[split.length - 1])];
}

/** Reads a string member (`path`, `from`) as `Operation.Path()` does; an error message if absent. */
function member(op: Operation, name: "path" | "from"): string | { error: string } {
  const v = op[name];
  if (v === undefined || v === null) {
    return {
      error: name === "path"
        ? `operation missing path field: ${MISSING}`
        : `operation, missing from field: ${MISSING}`,
    };
  }
  if (typeof v !== "string") {
    return { error: `json: cannot unmarshal ${jsonTypeWord(v)} into Go value of type string` };
  }
  return v;
}

function value(op: Operation): unknown {
  return op.value === undefined ? null : op.value;
}

function rethrow(prefix: string, e: unknown): never {
  if (e instanceof OpError) throw new OpError(`${prefix}${e.message}`);
  throw e;
}

function applyOne(root: { doc: Container }, op: Operation): void {
  const kind = typeof op.op === "string" ? op.op : "unknown";
  switch (kind) {
    case "add": {
      const path = member(op, "path");
      if (typeof path !== "string") throw new OpError(`add operation failed to decode path: ${MISSING}`);
      const found = findObject(root.doc, path);
      if (!found) {
        throw new OpError(`add operation does not apply: doc is missing path: "${path}": ${MISSING}`);
      }
      try {
        add(found[0], found[1], structuredClone(value(op)));
      } catch (e) {
        rethrow(`error in add for path: '${path}': `, e);
      }
      return;
    }
    case "remove": {
      const path = member(op, "path");
      if (typeof path !== "string") throw new OpError(`remove operation failed to decode path: ${MISSING}`);
      const found = findObject(root.doc, path);
      if (!found) {
        throw new OpError(`remove operation does not apply: doc is missing path: "${path}": ${MISSING}`);
      }
      try {
        remove(found[0], found[1]);
      } catch (e) {
        rethrow(`error in remove for path: '${path}': `, e);
      }
      return;
    }
    case "replace": {
      const path = member(op, "path");
      if (typeof path !== "string") {
        throw new OpError(`replace operation failed to decode path: ${path.error}`);
      }
      const v = structuredClone(value(op));
      if (path === "") {
        if (!Array.isArray(v) && !isObject(v)) {
          throw new OpError("replace operation value must be object or array: %!w(<nil>)");
        }
        root.doc = v;
        return;
      }
      const found = findObject(root.doc, path);
      if (!found) {
        throw new OpError(`replace operation does not apply: doc is missing path: ${path}: ${MISSING}`);
      }
      const [c, key] = found;
      if (Array.isArray(c)) {
        let idx: number;
        try {
          idx = index(c, key);
        } catch {
          throw new OpError(`replace operation does not apply: doc is missing key: ${path}: ${MISSING}`);
        }
        c[idx] = v;
      } else setOwn(c, key, v);
      return;
    }
    case "move": {
      const from = member(op, "from");
      if (typeof from !== "string") throw new OpError(`move operation failed to decode from: ${from.error}`);
      const src = findObject(root.doc, from);
      if (!src) {
        throw new OpError(`move operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
      }
      let v: unknown;
      try {
        v = get(src[0], src[1]);
        remove(src[0], src[1]);
      } catch (e) {
        rethrow(`error in move for path: '${src[1]}': `, e);
      }
      const path = member(op, "path");
      if (typeof path !== "string") throw new OpError(`move operation failed to decode path: ${path.error}`);
      const dst = findObject(root.doc, path);
      if (!dst) {
        throw new OpError(
          `move operation does not apply: doc is missing destination path: ${path}: ${MISSING}`,
        );
      }
      try {
        add(dst[0], dst[1], v === undefined ? null : v);
      } catch (e) {
        rethrow(`error in move for path: '${path}': `, e);
      }
      return;
    }
    case "copy": {
      const from = member(op, "from");
      if (typeof from !== "string") throw new OpError(`copy operation failed to decode from: ${from.error}`);
      const src = findObject(root.doc, from);
      if (!src) {
        throw new OpError(`copy operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
      }
      let v: unknown;
      try {
        v = get(src[0], src[1]);
      } catch (e) {
        rethrow(`error in copy for from: '${from}': `, e);
      }
      const path = member(op, "path");
      if (typeof path !== "string") throw new OpError(`copy operation failed to decode path: ${MISSING}`);
      const dst = findObject(root.doc, path);
      if (!dst) {
        throw new OpError(
          `copy operation does not apply: doc is missing destination path: ${path}: ${MISSING}`,
        );
      }
      try {
        add(dst[0], dst[1], v === undefined ? null : structuredClone(v));
      } catch (e) {
        rethrow("error while adding value during copy: ", e);
      }
      return;
    }
    case "test": {
      const path = member(op, "path");
      if (typeof path !== "string") throw new OpError(`test operation failed to decode path: ${path.error}`);
      const expected = value(op);
      const failed = new OpError(`testing value ${path} failed: test failed`);
      if (path === "") {
        if (!deepEqual(root.doc, expected)) throw failed;
        return;
      }
      const found = findObject(root.doc, path);
      if (!found) throw new OpError(`test operation does not apply: is missing path: ${path}: ${MISSING}`);
      let actual: unknown;
      try {
        actual = get(found[0], found[1]);
      } catch (e) {
        rethrow(`error in test for path: '${path}': `, e);
      }
      if (actual === undefined || actual === null) {
        if (expected === null) return;
        throw failed;
      }
      if (!deepEqual(actual, expected)) throw failed;
      return;
    }
    default:
      throw new OpError(`Unexpected kind: ${kind}`);
  }
}

/**
 * Checks that `patch` is a JSON patch document: a list of operation objects (`null` is an empty
 * patch). Returns the operations.
 *
 * @throws ApiError 400 with Go's decoding message, 413 past 10000 operations.
 */
export function decodeJsonPatch(patch: unknown): Operation[] {
  if (patch === null) return [];
  if (!Array.isArray(patch)) {
    throw malformedPatch(
      `json: cannot unmarshal ${jsonTypeWord(patch)} into Go value of type jsonpatch.Patch`,
    );
  }
  for (const op of patch) {
    if (op !== null && !isObject(op)) {
      throw malformedPatch(
        `json: cannot unmarshal ${jsonTypeWord(op)} into Go value of type jsonpatch.Operation`,
      );
    }
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new ApiError({
      code: 413,
      reason: "RequestEntityTooLarge",
      message:
        `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    });
  }
  return patch.map((op) => (op ?? {}) as Operation);
}

/**
 * Applies an RFC 6902 JSON patch to a copy of `doc` and returns the result (an object or a list).
 *
 * @throws ApiError 400 for a malformed document, 422 when an operation does not apply.
 * @example
 * ```ts
 * applyJsonPatch({ spec: { replicas: 1 } }, [{ op: "replace", path: "/spec/replicas", value: 3 }]);
 * // { spec: { replicas: 3 } }
 * ```
 */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  const ops = decodeJsonPatch(patch);
  const root = { doc: structuredClone(doc) as Container };
  for (const op of ops) {
    try {
      applyOne(root, op);
    } catch (e) {
      if (e instanceof OpError) throw patchRejected(e.message);
      throw e;
    }
  }
  return root.doc;
}
