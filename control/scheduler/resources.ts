/**
 * Resource arithmetic for scheduling: Kubernetes quantities to integers (cpu in millicores as
 * upstream's `MilliValue`, everything else rounded up as `Value`), a pod's effective requests as
 * upstream's `resourcehelper.PodRequests` (sidecar init containers included), and vector sums.
 * @module
 */
import { parseQuantity } from "../apiserver/registry/quantity.ts";
import type { Allocatable, Resources } from "./types.ts";

/** Upstream `DefaultMilliCPURequest`: what a container without a cpu request counts as when scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Upstream `DefaultMemoryRequest` (200 MiB). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

const cache = new Map<string, number>();

/**
 * A quantity as an integer, rounded up: `scale` 3 gives milli-units (cpu), 0 whole units.
 * Malformed input counts as 0 (validation rejects it before it reaches a scheduler).
 */
export function quantityToInt(input: unknown, scale = 0): number {
  const k = `${scale}:${input}`;
  const hit = cache.get(k);
  if (hit !== undefined) return hit;
  const q = parseQuantity(input);
  let n = 0;
  if (q) {
    const e = q.exponent + scale;
    if (e >= 0) n = Number(q.mantissa * 10n ** BigInt(e));
    else {
      const div = 10n ** BigInt(-e);
      let r = q.mantissa / div;
      if (q.mantissa > 0n && r * div !== q.mantissa) r += 1n;
      n = Number(r);
    }
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(k, n);
  return n;
}

/** An all-zero vector. */
export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: null };
}

/** Parses a `ResourceList` (`{cpu: "500m", memory: "1Gi", ...}`); `pods` is ignored. */
export function resourcesFromList(list: Record<string, unknown> | undefined | null): Resources {
  const r = emptyResources();
  if (!list) return r;
  for (const [name, v] of Object.entries(list)) {
    switch (name) {
      case "cpu":
        r.milliCPU = quantityToInt(v, 3);
        break;
      case "memory":
        r.memory = quantityToInt(v);
        break;
      case "ephemeral-storage":
        r.ephemeralStorage = quantityToInt(v);
        break;
      case "pods":
        break;
      default:
        (r.scalar ??= {})[name] = quantityToInt(v);
    }
  }
  return r;
}

/** A node's `status.allocatable` (falling back to `status.capacity`, as an unset allocatable means). */
export function allocatableFrom(
  status: { allocatable?: Record<string, unknown>; capacity?: Record<string, unknown> } | undefined,
): Allocatable {
  const list = status?.allocatable ?? status?.capacity;
  return { ...resourcesFromList(list), pods: list?.pods === undefined ? 0 : quantityToInt(list.pods) };
}

/** `a += b`, in place. */
export function addTo(a: Resources, b: Resources, sign = 1): void {
  a.milliCPU += sign * b.milliCPU;
  a.memory += sign * b.memory;
  a.ephemeralStorage += sign * b.ephemeralStorage;
  if (b.scalar) {
    const s = a.scalar ??= {};
    for (const [k, v] of Object.entries(b.scalar)) s[k] = (s[k] ?? 0) + sign * v;
  }
}

function maxInto(a: Resources, b: Resources): void {
  a.milliCPU = Math.max(a.milliCPU, b.milliCPU);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
  if (b.scalar) {
    const s = a.scalar ??= {};
    for (const [k, v] of Object.entries(b.scalar)) s[k] = Math.max(s[k] ?? 0, v);
  }
}

function copy(r: Resources): Resources {
  return { ...r, scalar: r.scalar ? { ...r.scalar } : null };
}

interface ContainerLike {
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  restartPolicy?: string;
}

/** A container's requests; a resource with only a limit requests its limit (API defaulting). */
function containerRequests(c: ContainerLike, nonZero: boolean): Resources {
  const req = c.resources?.requests;
  const lim = c.resources?.limits;
  const list: Record<string, unknown> = { ...lim, ...req };
  const r = resourcesFromList(list);
  if (nonZero) {
    if (list.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (list.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/** The pod spec fields requests are computed from. */
export interface PodSpecResources {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  overhead?: Record<string, unknown>;
}

/**
 * The pod's effective requests (upstream `PodRequests`): regular containers and restartable
 * (sidecar) init containers add up; each regular init container runs alone beside the sidecars
 * started before it; the larger of the two wins; then `overhead` is added. With `nonZero`,
 * containers without a cpu or memory request count upstream's defaults (used for scoring).
 */
export function podRequests(
  spec: PodSpecResources,
  overhead: Record<string, unknown> | undefined,
  nonZero = false,
): Resources {
  const reqs = emptyResources();
  for (const c of spec.containers ?? []) addTo(reqs, containerRequests(c, nonZero));
  const sidecars = emptyResources();
  const init = emptyResources();
  for (const c of spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === "Always") {
      addTo(reqs, r);
      addTo(sidecars, r);
      maxInto(init, sidecars);
    } else {
      const tmp = copy(r);
      addTo(tmp, sidecars);
      maxInto(init, tmp);
    }
  }
  maxInto(reqs, init);
  if (overhead) addTo(reqs, resourcesFromList(overhead));
  return reqs;
}
