/**
 * A bounded cache of decoded object versions. A version never changes (its event id names it), so
 * a cached decode is valid until evicted; lists and watch feeds share the decoded objects instead
 * of decoding the same CBOR again. Objects handed out are shared: callers must not mutate them.
 * @module
 */
import type { KubeObject } from "../api/types.ts";

export class DecodedCache {
  readonly #map = new Map<string, { obj: KubeObject; size: number }>();
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
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= v.size;
    }
  }

  get size(): number {
    return this.#map.size;
  }
}
