/**
 * A bounded cache of decoded object versions. A version never changes (its event id names it), so
 * a cached decode is valid until evicted; lists and watch feeds share the decoded objects instead
 * of decoding the same CBOR again. Objects handed out are shared: callers must not mutate them.
 * @module
 */
import type { KubeObject } from "../api/types.ts";

export class DecodedCache {
  readonly #map = new Map<string, { obj: KubeObject; size: number }>();
  /**
   * Kept across evictions: a fresh iterator would start at the map's first slot and walk past
   * every deleted one (each read deletes and re-adds its entry), several µs per write once full.
   */
  #oldest: MapIterator<[string, { obj: KubeObject; size: number }]> | null = null;
  readonly #maxBytes: number;
  #bytes = 0;

  /** `maxBytes` bounds the sum of the cached versions' encoded sizes. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  static key(res: string, ns: string, name: string, ev: string): string {
    return `${res}\u0000${ns}\u0000${name}\u0000${ev}`;
  }

  get(key: string): KubeObject | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    // Refresh its place in the LRU order.
    this.#map.delete(key);
    this.#map.set(key, hit);
    return hit.obj;
  }

  set(key: string, obj: KubeObject, size: number): void {
    if (size > this.#maxBytes / 8 || this.#map.has(key)) return;
    this.#map.set(key, { obj, size });
    this.#bytes += size;
    while (this.#bytes > this.#maxBytes) {
      // The least recently used entry is the next one the kept iterator reaches: entries before it
      // were evicted, or moved to the end when read (a Map iterator follows later insertions).
      let next = this.#oldest?.next();
      if (!next || next.done) next = (this.#oldest = this.#map.entries()).next();
      if (next.done) break;
      const [k, v] = next.value;
      this.#map.delete(k);
      this.#bytes -= v.size;
    }
  }

  get size(): number {
    return this.#map.size;
  }
}
