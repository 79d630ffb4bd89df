/**
 * The downward API's values: `fieldRef` paths of a pod and `resourceFieldRef` of a container,
 * as the kubelet resolves them for env vars and downwardAPI volumes. Pure.
 *
 * @example
 * ```ts
 * podFieldValue(pod, "metadata.labels['app']"); // "web"
 * resourceFieldValue(container, { resource: "limits.memory", divisor: "1Mi" }, allocatable); // "64"
 * ```
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import { milliValue, quantityValue } from "./quantity.ts";

/** A downward API value could not be resolved; the message names the path. */
export class FieldPathError extends Error {
  override name = "FieldPathError";
}

const SUBSCRIPT = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/;

/** Formats a label or annotation map as the downward API does: sorted `key="value"` lines. */
export function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}=${JSON.stringify(map![k])}`).join("\n");
}

/**
 * The value of a pod field path. `volume` allows the whole-map paths `metadata.labels` and
 * `metadata.annotations`, which only downwardAPI volumes support.
 */
export function podFieldValue(pod: Pod, path: string, opts: { volume?: boolean } = {}): string {
  const m = path.match(SUBSCRIPT);
  if (m) {
    const map = m[1] === "metadata.labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[m[2]] ?? "";
  }
  switch (path) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.hostIPs":
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(",");
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(",");
  }
  if (opts.volume && path === "metadata.labels") return formatMap(pod.metadata?.labels);
  if (opts.volume && path === "metadata.annotations") return formatMap(pod.metadata?.annotations);
  throw new FieldPathError(`unsupported fieldPath: ${path}`);
}

/** What a resourceFieldRef names. */
export interface ResourceFieldRef {
  containerName?: string;
  resource: string;
  divisor?: string | number;
}

/**
 * The value of `limits.*` / `requests.*` of a container, divided by `divisor` and rounded up.
 * An unset limit falls back to the node's allocatable (as upstream); an unset request to 0 for
 * memory/storage or to the limit.
 */
export function resourceFieldValue(
  container: Container,
  ref: ResourceFieldRef,
  allocatable: Record<string, string>,
): string {
  const [kind, resource] = ref.resource.split(/\.(.*)/s);
  if (!["limits", "requests"].includes(kind) || !["cpu", "memory", "ephemeral-storage"].includes(resource)) {
    throw new FieldPathError(`unsupported container resource: ${ref.resource}`);
  }
  const res = container.resources ?? {};
  let q: string | number | undefined = kind === "limits"
    ? res.limits?.[resource] ?? allocatable[resource]
    : res.requests?.[resource] ?? res.limits?.[resource];
  q ??= "0";
  if (resource === "cpu") {
    const milli = milliValue(q)!;
    const divisor = milliValue(ref.divisor ?? "1") || 1000;
    return String(Math.ceil(milli / divisor));
  }
  const value = quantityValue(q)!;
  const divisor = quantityValue(ref.divisor ?? "1") || 1;
  return String(Math.ceil(value / divisor));
}
