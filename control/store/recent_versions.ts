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
 * commit), the write's index in it and where its bytes are, in slots of flat arrays rather than an
 * object per entry (the numbers in an `Int32Array`). `get` hands out a copy of the bytes.
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

const INITIAL_RING = 64 * 1024;
const INITIAL_SLOTS = 1024;
/** Int32 fields per slot in `#meta`: the write's index in its commit, the ring lap, offset, length. */
const X = 0, LAP = 1, OFF = 2, LEN = 3, FIELDS = 4;

export class RecentVersions {
  /**
   * Object key → its entry's sequence number. Entries have no object of their own: an entry is a
   * slot (`seq & #mask`) of the arrays below, so each write leaves behind only its key string and
   * a map slot for scavenges to copy and promote (an object per entry was 80 B more per write).
   */
  readonly #map = new Map<string, number>();
  /**
   * Slots in the order they were written (their ring positions increase along it) from sequence
   * `#first` to `#next`, including entries since replaced or deleted (the map no longer points at
   * those). Evicting from the front costs O(1) per entry; iterating the map from its start would
   * skip every deleted slot each time.
   */
  #keys: (string | undefined)[] = new Array(INITIAL_SLOTS);
  /** Each slot's commit versionstamp (one string shared by the writes of a commit). */
  #kvVs: (string | undefined)[] = new Array(INITIAL_SLOTS);
  /** Each slot's numbers (off the JS heap: nothing for a scavenge to copy). */
  #meta = new Int32Array(INITIAL_SLOTS * FIELDS);
  #mask = INITIAL_SLOTS - 1;
  #first = 0;
  #next = 0;
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
    const seq = this.#map.get(key);
    if (seq === undefined) return undefined;
    const s = seq & this.#mask, m = s * FIELDS;
    const kvVs = this.#kvVs[s]!;
    const off = this.#meta[m + OFF];
    return {
      kvVs,
      ev: eventId(kvVs, this.#meta[m + X]),
      bytes: this.#ring.slice(off, off + this.#meta[m + LEN]),
    };
  }

  set(key: string, version: RecentVersion): void {
    const len = version.bytes.length;
    if (len > this.#maxBytes / 8) {
      this.#map.delete(key);
      return;
    }
    if (this.#head + len > this.#ring.length) this.#makeRoom(len);
    this.#ring.set(version.bytes, this.#head);
    if (this.#next - this.#first > this.#mask) this.#growSlots();
    const seq = this.#next++;
    const s = seq & this.#mask, m = s * FIELDS;
    this.#keys[s] = key;
    this.#kvVs[s] = version.kvVs;
    this.#meta[m + X] = indexOf(version.ev);
    this.#meta[m + LAP] = this.#lap;
    this.#meta[m + OFF] = this.#head;
    this.#meta[m + LEN] = len;
    this.#map.set(key, seq);
    this.#head += len;
    // Drop the entries whose bytes this lap has now overwritten (the oldest ones, at the front).
    while (this.#first < this.#next) {
      const f = this.#first & this.#mask, fm = f * FIELDS;
      const lap = this.#meta[fm + LAP];
      if (lap === this.#lap || (lap === this.#lap - 1 && this.#meta[fm + OFF] >= this.#head)) break;
      const k = this.#keys[f]!;
      if (this.#map.get(k) === this.#first) this.#map.delete(k);
      this.#keys[f] = this.#kvVs[f] = undefined;
      this.#first++;
    }
  }

  /** Doubles the slots, keeping every live one at its sequence number's new position. */
  #growSlots() {
    const size = 2 * (this.#mask + 1), mask = size - 1;
    const keys: (string | undefined)[] = new Array(size);
    const kvVs: (string | undefined)[] = new Array(size);
    const meta = new Int32Array(size * FIELDS);
    for (let seq = this.#first; seq < this.#next; seq++) {
      const from = seq & this.#mask, to = seq & mask;
      keys[to] = this.#keys[from];
      kvVs[to] = this.#kvVs[from];
      meta.set(this.#meta.subarray(from * FIELDS, from * FIELDS + FIELDS), to * FIELDS);
    }
    this.#keys = keys;
    this.#kvVs = kvVs;
    this.#meta = meta;
    this.#mask = mask;
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
