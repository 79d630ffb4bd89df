/**
 * Shared by the built-in admission plugins (bundled into each): the pod spec inside any object
 * that carries one, and the answers. Runs inside the component (QuickJS).
 * @module
 */

/** A container as the plugins read it. */
export interface Container {
  name?: string;
  image?: string;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

/** The pod spec of a Pod, a pod template owner (Deployment, Job, ...) or a CronJob; null otherwise. */
export function podSpecOf(obj: Record<string, any>): { path: string; spec: Record<string, any> } | null {
  if (obj.kind === "Pod") return obj.spec ? { path: "spec", spec: obj.spec } : null;
  if (obj.kind === "CronJob") {
    const spec = obj.spec?.jobTemplate?.spec?.template?.spec;
    return spec ? { path: "spec.jobTemplate.spec.template.spec", spec } : null;
  }
  const spec = obj.spec?.template?.spec;
  return spec ? { path: "spec.template.spec", spec } : null;
}

/** Every container of a pod spec with its field path. */
export function containersOf(spec: Record<string, any>, path: string): { c: Container; path: string }[] {
  const out: { c: Container; path: string }[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    (spec[field] ?? []).forEach((c: Container, i: number) => out.push({ c, path: `${path}.${field}[${i}]` }));
  }
  return out;
}

export const ALLOW = { allowed: true, message: "", code: 0, patch: undefined, warnings: [] as string[] };

export function deny(message: string): typeof ALLOW {
  return { allowed: false, message, code: 403, patch: undefined, warnings: [] };
}

/** An `error::invalid` for `result` returns (jco: throw the variant). */
export function invalid(message: string): never {
  throw { tag: "invalid", val: message };
}
