/**
 * Remembers the EndpointSlice writes the controller made until its informer has seen them
 * (upstream `EndpointSliceTracker` / `StaleSlices`), so a sync never plans from a cache that does
 * not yet show the slices it just created, updated or deleted, which would create duplicates.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

const DELETED = "deleted";

/** Whether resourceVersion `a` is at least `b` (decimal RVs compare numerically). */
export function rvAtLeast(a: string | undefined, b: string): boolean {
  if (!a) return false;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b);
  return a === b;
}

export class SliceTracker {
  /** Service key → slice name → resourceVersion written, or "deleted". */
  readonly #expected = new Map<string, Map<string, string>>();

  #for(service: string): Map<string, string> {
    let m = this.#expected.get(service);
    if (!m) this.#expected.set(service, m = new Map());
    return m;
  }

  /** Records a slice the controller created or updated. */
  written(service: string, slice: KubeObject): void {
    this.#for(service).set(slice.metadata.name!, slice.metadata.resourceVersion ?? "");
  }

  /** Records a slice the controller deleted. */
  deleted(service: string, slice: KubeObject): void {
    this.#for(service).set(slice.metadata.name!, DELETED);
  }

  /** Tells the tracker what the informer now holds for a slice (undefined: gone). */
  observed(service: string, name: string, slice: KubeObject | undefined): void {
    const m = this.#expected.get(service);
    const want = m?.get(name);
    if (want === undefined) return;
    const caughtUp = want === DELETED ? !slice : !!slice && rvAtLeast(slice.metadata.resourceVersion, want);
    if (caughtUp) {
      m!.delete(name);
      if (!m!.size) this.#expected.delete(service);
    }
  }

  /** Whether the cache (`lookup` by slice name) still lags a write for this Service. */
  stale(service: string, lookup: (name: string) => KubeObject | undefined): boolean {
    const m = this.#expected.get(service);
    if (!m) return false;
    let stale = false;
    for (const [name, want] of m) {
      const cur = lookup(name);
      if (want === DELETED ? !!cur : !cur || !rvAtLeast(cur.metadata.resourceVersion, want)) stale = true;
      else m.delete(name);
    }
    if (!m.size) this.#expected.delete(service);
    return stale;
  }

  /** Forgets a Service. */
  forget(service: string): void {
    this.#expected.delete(service);
  }
}
