/**
 * The version of each object that this process last committed: its KV versionstamp, event id and
 * stored bytes, bounded by bytes (least recently written evicted first).
 *
 * An update starts from it instead of reading the object first, as upstream's `GuaranteedUpdate`
 * starts from the watch cache's copy (`cachedExistingObject`): the commit still checks the KV
 * versionstamp, so a version that is no longer current (another process, or another store on the
 * same KV, wrote since) fails its check and the update reads the object and tries again. It is
 * never the last word on an error or a no-op either (see `Store.update`).
 *
 * @example
 * ```ts
 * const recent = new RecentVersions(1 << 20);
 * recent.set("configmaps\u0000default\u0000a", { kvVs: "00000000000000010000", ev: "0000000000000001000000", bytes: new Uint8Array(3) });
 * recent.get("configmaps\u0000default\u0000a")?.kvVs; // "00000000000000010000"
 * ```
 * @module
 */

/** One committed version of an object, as the commit wrote it. */
export interface RecentVersion {
  /** KV versionstamp of the object key (the commit's). */
  kvVs: string;
  /** Event id of this version. */
  ev: string;
  /** The stored (transformed) bytes of this version. */
  bytes: Uint8Array;
}

/** Bytes counted per entry on top of the object's own (key, strings, map slot). */
const ENTRY_OVERHEAD = 160;

export class RecentVersions {
  readonly #map = new Map<string, RecentVersion>();
  readonly #maxBytes: number;
  #bytes = 0;

  /** `maxBytes` bounds the sum of the kept versions' sizes; 0 keeps nothing. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  static key(res: string, ns: string, name: string): string {
    return `${res}\u0000${ns}\u0000${name}`;
  }

  get(key: string): RecentVersion | undefined {
    return this.#map.get(key);
  }

  set(key: string, version: RecentVersion): void {
    this.delete(key);
    const size = version.bytes.length + ENTRY_OVERHEAD;
    if (size > this.#maxBytes / 8) return;
    this.#map.set(key, version);
    this.#bytes += size;
    while (this.#bytes > this.#maxBytes) {
      const [oldest, v] = this.#map.entries().next().value!;
      this.#map.delete(oldest);
      this.#bytes -= v.bytes.length + ENTRY_OVERHEAD;
    }
  }

  delete(key: string): void {
    const had = this.#map.get(key);
    if (!had) return;
    this.#map.delete(key);
    this.#bytes -= had.bytes.length + ENTRY_OVERHEAD;
  }

  get size(): number {
    return this.#map.size;
  }
}
