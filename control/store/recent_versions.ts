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
 * Every write adds an entry that lives for a long time, so the entries are kept small: young-
 * generation scavenges copy every live object, and a few hundred bytes per write at a few thousand
 * writes a second is most of what they copy. The bytes go into one ring buffer (off the JS heap,
 * grown on demand up to the bound, then reused from its start: the oldest versions are the ones
 * overwritten); an entry holds the commit's versionstamp (one string shared by the writes of a
 * commit), the write's index in it and where its bytes are. `get` hands out a copy of the bytes.
 *
 * @example
 * ```ts
 * const recent = new RecentVersions(1 << 20);
 * recent.set("configmaps\u0000default\u0000a", { kvVs: "00000000000000010000", ev: "0000000000000001000000", bytes: new Uint8Array(3) });
 * recent.get("configmaps\u0000default\u0000a")?.kvVs; // "00000000000000010000"
 * ```
 * @module
 */
import { eventId, indexOf } from "./keys.ts";

/** One committed version of an object, as the commit wrote it. */
export interface RecentVersion {
  /** KV versionstamp of the object key (the commit's). */
  kvVs: string;
  /** Event id of this version (the commit's versionstamp and the write's index in it). */
  ev: string;
  /** The stored (transformed) bytes of this version. */
  bytes: Uint8Array;
}

/** Where an entry's bytes are in the ring: written in lap `lap` at `off`, `len` bytes. */
interface Entry {
  key: string;
  kvVs: string;
  x: number;
  lap: number;
  off: number;
  len: number;
}

const INITIAL_RING = 64 * 1024;

export class RecentVersions {
  readonly #map = new Map<string, Entry>();
  /**
   * Entries in the order they were written (their ring positions increase along it) from `#first`
   * on, including ones since replaced or deleted (the map no longer points at those). Evicting
   * from here costs O(1) per entry; iterating the map from its start would skip every deleted slot
   * each time.
   */
  #order: Entry[] = [];
  #first = 0;
  readonly #maxBytes: number;
  #ring = new Uint8Array(0);
  #lap = 0;
  /** Where the next version's bytes go. */
  #head = 0;

  /** `maxBytes` bounds the bytes of the kept versions (the ring's size); 0 keeps nothing. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  static key(res: string, ns: string, name: string): string {
    return `${res}\u0000${ns}\u0000${name}`;
  }

  get(key: string): RecentVersion | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    return { kvVs: e.kvVs, ev: eventId(e.kvVs, e.x), bytes: this.#ring.slice(e.off, e.off + e.len) };
  }

  set(key: string, version: RecentVersion): void {
    const len = version.bytes.length;
    if (len > this.#maxBytes / 8) {
      this.#map.delete(key);
      return;
    }
    if (this.#head + len > this.#ring.length) this.#makeRoom(len);
    this.#ring.set(version.bytes, this.#head);
    const entry = { key, kvVs: version.kvVs, x: indexOf(version.ev), lap: this.#lap, off: this.#head, len };
    this.#map.set(key, entry);
    this.#order.push(entry);
    this.#head += len;
    // Drop the entries whose bytes this lap has now overwritten (the oldest ones, at the front).
    const order = this.#order;
    while (this.#first < order.length) {
      const e = order[this.#first];
      if (e.lap === this.#lap || (e.lap === this.#lap - 1 && e.off >= this.#head)) break;
      if (this.#map.get(e.key) === e) this.#map.delete(e.key);
      this.#first++;
    }
    if (this.#first > 1024 && this.#first * 2 > order.length) {
      this.#order = order.slice(this.#first);
      this.#first = 0;
    }
  }

  /** Grows the ring (keeping its contents) while it is below the bound, else starts a new lap. */
  #makeRoom(len: number) {
    if (this.#ring.length < this.#maxBytes) {
      const size = Math.min(
        this.#maxBytes,
        Math.max(INITIAL_RING, 2 * this.#ring.length, 2 * (this.#head + len)),
      );
      const grown = new Uint8Array(size);
      grown.set(this.#ring.subarray(0, this.#head));
      this.#ring = grown;
    }
    if (this.#head + len > this.#ring.length) {
      this.#lap++;
      this.#head = 0;
    }
  }

  delete(key: string): void {
    // Its entry stays in the write order until its bytes are overwritten (the map no longer has it).
    this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}
