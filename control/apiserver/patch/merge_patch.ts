/**
 * RFC 7386 JSON merge patch: objects merge recursively, `null` removes a member, anything else
 * (lists included) replaces. Used by `kubectl label`, `kubectl annotate`, `kubectl scale` and by
 * `kubectl apply` for custom resources.
 * @module
 */
import { malformedPatch } from "./errors.ts";
import { getOwn, setOwn } from "./own.ts";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** RFC 7386 `MergePatch(Target, Patch)`; returns a new value and leaves both arguments alone. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwn(out, key, mergePatch(getOwn(out, key), value));
  }
  return out;
}

/**
 * Applies a merge patch document to an object. The document must be an object or a list (a list
 * replaces the whole object, which then fails to decode, as upstream); `null` and scalars are
 * upstream's 400 `Invalid JSON Patch` (`jsonpatch.ErrBadJSONPatch`).
 */
export function applyMergePatch(doc: Record<string, unknown>, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object") throw malformedPatch("Invalid JSON Patch");
  return mergePatch(structuredClone(doc), patch);
}
