/**
 * The `scale` subresource: an `autoscaling/v1` Scale view of a workload's replicas.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { formatLabelSelector, fromLabelSelectorObject } from "../../api/selector.ts";
import { badRequest, fieldError, invalid } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";

/** Reads a dotted JSON path such as `.spec.replicas`. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.replace(/^\./, "").split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Writes a dotted JSON path, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.replace(/^\./, "").split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    if (cur[part] === null || typeof cur[part] !== "object") cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** The Scale of an object. */
export function scaleOf(def: ResourceDef, obj: KubeObject) {
  const spec = def.subresources!.scale!;
  const selectorPath = spec.labelSelectorPath;
  let selector: string | undefined;
  if (selectorPath) {
    const raw = getPath(obj, selectorPath);
    if (typeof raw === "string") selector = raw;
    else if (raw && typeof raw === "object") {
      selector = formatLabelSelector(fromLabelSelectorObject(raw as Record<string, never>) ?? []);
    }
  }
  const m = obj.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: Number(getPath(obj, spec.specReplicasPath) ?? 0) },
    status: {
      replicas: Number(getPath(obj, spec.statusReplicasPath) ?? 0),
      ...(selector !== undefined ? { selector } : {}),
    },
  };
}

/** Applies a (possibly patched) Scale back onto its object; returns the updated object. */
export function applyScale(def: ResourceDef, obj: KubeObject, scale: KubeObject): KubeObject {
  if (!scale || typeof scale !== "object" || !scale.spec) throw badRequest("the body is not a Scale object");
  const replicas = scale.spec.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw invalid("Scale", "autoscaling", obj.metadata.name ?? "", [
      fieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0"),
    ]);
  }
  const out = structuredClone(obj);
  setPath(out, def.subresources!.scale!.specReplicasPath, replicas);
  return out;
}
