/**
 * Watches: one tail of the change log per resource and process, fanned out to every watcher.
 *
 * A feed reads new log entries once, decodes each object once, keeps a short in-memory buffer for
 * watchers that start slightly in the past, and dispatches to subscribers, which filter by
 * namespace, labels and fields (an object that stops matching becomes DELETED for that watcher).
 * Writes of this process wake their feed as soon as their commit returns (the store's commit
 * listener), `kv.watch` on the resource's head key covers other stores of this process on the same
 * KV, and writes from other processes sharing the KV file are found by polling the head keys. Each
 * wake-up names the event that is committed, so a feed that has already read past it does not read
 * the log again. A commit of this process that proved it follows the entries the feed dispatched
 * last (its check on the resource's head key held: nothing else was logged in between) hands its
 * entries to the feed directly, without reading them back from KV.
 * @module
 */
import { type FieldSelector, type LabelSelector, matchesFields, matchesLabels } from "../api/selector.ts";
import { gone } from "../api/status.ts";
import type { KubeObject, WatchEvent } from "../api/types.ts";
import { after, commitOf, eventId, headKey, LOG, logKey, toEventId, toResourceVersion, ZERO_EVENT } from "./keys.ts";
import { retryLocked } from "./kv_retry.ts";
import { list } from "./list.ts";
import { entriesOf, entryBytes, type LogEntry } from "./log.ts";
import { Store, type StoreResource } from "./store.ts";
import type { CommittedLog } from "./committer.ts";

export interface WatchOptions {
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  /** Unset or "0": synthetic ADDED events for the current state first. Otherwise start exactly after it. */
  resourceVersion?: string;
  allowBookmarks?: boolean;
  signal?: AbortSignal;
}

export interface HubOptions {
  /** How often head keys are polled for writes from other processes. */
  pollIntervalMs?: number;
  /** How often an idle watch with bookmarks enabled gets a BOOKMARK. */
  bookmarkIntervalMs?: number;
  /** Events kept in memory per resource for watchers that start slightly in the past. */
  bufferSize?: number;
  /** Events a slow watcher may have queued before it is closed. */
  maxQueued?: number;
}

/** A decoded log entry, shared by all subscribers. */
interface FeedEvent {
  vs: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  fields: Record<string, string>;
  prevLabels?: Record<string, string>;
  prevFields?: Record<string, string>;
}

class Subscriber {
  #queue: WatchEvent[] = [];
  #wake: (() => void) | null = null;
  closed = false;
  error: WatchEvent | null = null;
  /** Events at or below this versionstamp were already delivered. */
  seen: string;
  readonly opts: WatchOptions;
  readonly res: StoreResource;
  readonly maxQueued: number;

  constructor(res: StoreResource, opts: WatchOptions, seen: string, maxQueued: number) {
    this.res = res;
    this.opts = opts;
    this.seen = seen;
    this.maxQueued = maxQueued;
  }

  #matches(labels: Record<string, string> | undefined, fields: Record<string, string>): boolean {
    const o = this.opts;
    if (o.namespace !== undefined && fields["metadata.namespace"] !== o.namespace) return false;
    if (o.labelSelector?.length && !matchesLabels(o.labelSelector, labels)) return false;
    if (o.fieldSelector?.length && !matchesFields(o.fieldSelector, fields)) return false;
    return true;
  }

  deliver(ev: FeedEvent) {
    if (ev.vs <= this.seen || this.closed) return;
    this.seen = ev.vs;
    const now = this.#matches(ev.object.metadata.labels, ev.fields);
    if (ev.type !== "MODIFIED") {
      if (now) this.push({ type: ev.type, object: ev.object });
      return;
    }
    const before = this.#matches(ev.prevLabels, ev.prevFields ?? ev.fields);
    if (now && before) this.push({ type: "MODIFIED", object: ev.object });
    else if (now) this.push({ type: "ADDED", object: ev.object });
    else if (before) this.push({ type: "DELETED", object: ev.object });
  }

  push(ev: WatchEvent) {
    if (this.closed) return;
    if (this.#queue.length >= this.maxQueued) {
      this.fail(gone("the watcher fell too far behind and was closed; watch again from a newer resourceVersion"));
      return;
    }
    this.#queue.push(ev);
    this.#wake?.();
  }

  fail(err: { status: unknown }) {
    if (this.closed) return;
    this.#queue.push({ type: "ERROR", object: err.status as KubeObject });
    this.close();
  }

  close() {
    this.closed = true;
    this.#wake?.();
  }

  /** Everything queued since the last batch, as one array (a writer that bursts is sent at once). */
  async *batches(): AsyncGenerator<WatchEvent[]> {
    while (true) {
      if (this.#queue.length) {
        const batch = this.#queue;
        this.#queue = [];
        yield batch;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
  }
}

class Feed {
  readonly res: StoreResource;
  readonly subs = new Set<Subscriber>();
  cursor = "";
  /** Recent events, oldest first; `bufferStart` is the cursor before the first of them. */
  buffer: FeedEvent[] = [];
  bufferStart = "";
  ready: Promise<void>;
  #hub: WatchHub;
  #pulling: Promise<void> | null = null;
  #again = false;
  #started = false;
  /** The newest event id known to be committed (from a commit of this process, kv.watch or the poll). */
  #known = "";
  /** The commit whose log entries have all been dispatched (the next read starts after it). */
  #doneCommit = "";
  #watchReader: ReadableStreamDefaultReader<[Deno.KvEntryMaybe<number>]> | null = null;
  #soon = "";
  #soonTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(hub: WatchHub, res: StoreResource) {
    this.#hub = hub;
    this.res = res;
    this.ready = this.#start();
  }

  async #start() {
    this.cursor = await this.#hub.store.head(this.res);
    // A head names the last entry its commit wrote for this resource.
    this.#doneCommit = commitOf(this.cursor);
    this.bufferStart = this.cursor;
    this.#started = true;
    const stream = this.#hub.store.kv.watch<[number]>([headKey(this.res.key)]);
    this.#watchReader = stream.getReader();
    (async () => {
      try {
        while (true) {
          const { done, value } = await this.#watchReader!.read();
          if (done) return;
          const [head] = value;
          const ev = head.versionstamp ? eventId(head.versionstamp, head.value ?? 0) : undefined;
          if (ev !== undefined && ev > this.cursor) this.#pullSoon(ev);
          else this.pull(ev);
        }
      } catch { /* closed */ }
    })();
  }

  /**
   * A pull a little later (a timer's turn): `kv.watch` also reports this process's own commits,
   * often before the commit itself has returned to its writer; by the timer's turn the store's
   * commit listener has handed those entries over (see {@linkcode take}) and nothing is read.
   * Another store's writes in this process wait that turn (1–3 ms) longer.
   */
  #pullSoon(ev: string) {
    if (ev > this.#soon) this.#soon = ev;
    if (this.#soonTimer !== undefined) return;
    this.#soonTimer = setTimeout(() => {
      this.#soonTimer = undefined;
      const target = this.#soon;
      this.#soon = "";
      if (target > this.cursor) this.pull(target);
    }, 0);
  }

  /**
   * Dispatches a commit's entries without reading the log, when they are the next ones: the
   * commit proved nothing was logged for the resource since the commit this feed dispatched last,
   * no read is under way, and every entry carries its version inline. Returns whether it did.
   */
  take(log: CommittedLog): boolean {
    if (!this.#started || this.#pulling || log.after === null || this.#doneCommit !== log.after) return false;
    if (commitOf(this.cursor) !== log.after) return false;
    for (const e of log.entries) if (!e.o) return false;
    for (const e of log.entries) this.#dispatch(feedEvent(this.#hub.store, this.res, eventId(log.vs, e.x), e, e.o!));
    this.#doneCommit = log.vs;
    if (this.cursor > this.#known) this.#known = this.cursor;
    return true;
  }

  #dispatch(event: FeedEvent) {
    this.cursor = event.vs;
    if (this.buffer.length >= this.#hub.bufferSize) {
      this.bufferStart = this.buffer.shift()!.vs;
    }
    this.buffer.push(event);
    for (const s of this.subs) s.deliver(event);
  }

  /**
   * Reads new log entries and dispatches them; concurrent calls coalesce. `ev`, when known, is
   * an event that is committed: the feed reads until it has passed it (and does nothing if it
   * already has). Without `ev` it reads once more whatever it finds.
   */
  pull(ev?: string): Promise<void> {
    if (!this.#started) return this.ready.then(() => this.pull(ev), () => {});
    if (ev !== undefined) {
      if (ev <= this.cursor) return this.#pulling ?? Promise.resolve();
      if (ev > this.#known) this.#known = ev;
    }
    if (this.#pulling) {
      if (ev === undefined) this.#again = true;
      return this.#pulling;
    }
    this.#pulling = (async () => {
      try {
        while (true) {
          this.#again = false;
          const target = this.#known;
          const before = this.cursor;
          await this.#readNew();
          if (this.#again) continue;
          if (this.cursor >= this.#known) break;
          // The target was committed before this round began, yet not found: stop rather than
          // spin (a later notification or poll reads again).
          if (this.cursor === before && target === this.#known) break;
        }
      } catch (e) {
        if (!this.#hub.closed) console.error(`watch feed for ${this.res.key} failed to read the change log; will retry:`, e);
      } finally {
        this.#pulling = null;
      }
    })();
    return this.#pulling;
  }

  async #readNew() {
    const kv = this.#hub.store.kv;
    while (true) {
      const batch: Deno.KvEntry<LogEntry[]>[] = [];
      // Start after the cursor's commit once all of its entries went out (every wake-up would
      // otherwise read and deserialize that log value, an object copy included, once more).
      const at = commitOf(this.cursor);
      const iter = kv.list<LogEntry[]>(
        { prefix: [LOG, this.res.key], start: logKey(this.res.key, at === this.#doneCommit ? after(at) : at) },
        { limit: 200 },
      );
      for await (const e of iter) batch.push(e);
      let fresh = 0;
      for (const entry of batch) {
        const vs = entry.key[2] as string;
        for (const { ev, e } of entriesOf(vs, entry.value)) {
          if (ev <= this.cursor) continue;
          fresh++;
          this.#dispatch(await decodeEvent(this.#hub.store, this.res, ev, e));
        }
        this.#doneCommit = vs;
      }
      if (batch.length < 200 || fresh === 0) return;
    }
  }

  close() {
    clearTimeout(this.#soonTimer);
    this.#soonTimer = undefined;
    this.#watchReader?.cancel().catch(() => {});
    for (const s of this.subs) s.close();
    this.subs.clear();
  }
}

async function decodeEvent(store: Store, res: StoreResource, ev: string, e: LogEntry): Promise<FeedEvent> {
  const bytes = await entryBytes(store.kv, res.key, ev, e);
  if (!bytes) throw new Error(`log entry ${res.key}@${ev} refers to missing chunks`);
  return feedEvent(store, res, ev, e, bytes);
}

function feedEvent(store: Store, res: StoreResource, ev: string, e: LogEntry, bytes: Uint8Array): FeedEvent {
  // A DELETED event carries the deleted object with the deletion's resourceVersion.
  const object = e.t === "D" ? store.decodeBytes(res.key, bytes, toResourceVersion(ev)) : store.decode(res.key, e.ns, e.n, ev, bytes);
  return {
    vs: ev,
    type: e.t === "A" ? "ADDED" : e.t === "M" ? "MODIFIED" : "DELETED",
    object,
    fields: res.fields(object),
    prevLabels: e.pl,
    prevFields: e.pf,
  };
}

/** Fans the change log out to watchers. One per store and process. */
export class WatchHub {
  readonly store: Store;
  readonly bufferSize: number;
  readonly #feeds = new Map<string, Feed>();
  readonly #pollMs: number;
  readonly #bookmarkMs: number;
  readonly #maxQueued: number;
  #pollTimer: ReturnType<typeof setTimeout> | null = null;
  #heads = new Map<string, string | null>();
  #closed = false;
  readonly #unsubscribe: () => void;

  /** Whether close() was called (reads failing after that are expected). */
  get closed(): boolean {
    return this.#closed;
  }

  constructor(store: Store, opts: HubOptions = {}) {
    this.store = store;
    this.#pollMs = opts.pollIntervalMs ?? 25;
    this.#bookmarkMs = opts.bookmarkIntervalMs ?? 15_000;
    this.bufferSize = opts.bufferSize ?? 2000;
    this.#maxQueued = opts.maxQueued ?? 50_000;
    // Writes of this process wake their feed at once, without waiting for kv.watch.
    this.#unsubscribe = store.onCommit((res, ev, log) => {
      const feed = this.#feeds.get(res);
      if (feed && !feed.take(log)) feed.pull(ev);
    });
  }

  #feed(res: StoreResource): Feed {
    let f = this.#feeds.get(res.key);
    if (!f) {
      f = new Feed(this, res);
      this.#feeds.set(res.key, f);
      this.#schedulePoll();
    }
    return f;
  }

  #schedulePoll() {
    if (this.#pollTimer !== null || this.#closed || this.#pollMs <= 0) return;
    this.#pollTimer = setTimeout(async () => {
      try {
        await this.#poll();
      } catch (e) {
        if (!this.#closed) console.error("watch poll failed:", e);
      }
      this.#pollTimer = null;
      this.#schedulePoll();
    }, this.#pollMs);
    Deno.unrefTimer(this.#pollTimer as unknown as number);
  }

  /** Checks head keys for writes from other processes, 10 keys per read. */
  async #poll() {
    const feeds = [...this.#feeds.values()];
    for (let i = 0; i < feeds.length; i += 10) {
      const part = feeds.slice(i, i + 10);
      const got = await retryLocked(() => this.store.kv.getMany<number[]>(part.map((f) => headKey(f.res.key))));
      part.forEach((f, j) => {
        const ev = got[j].versionstamp ? eventId(got[j].versionstamp!, got[j].value ?? 0) : null;
        if (ev !== this.#heads.get(f.res.key)) {
          this.#heads.set(f.res.key, ev);
          if (ev && ev > f.cursor) f.pull(ev);
        }
      });
    }
  }

  /** The versionstamp up to which `res`'s events have been dispatched in this process. */
  async cursor(res: StoreResource): Promise<string> {
    const f = this.#feed(res);
    await f.ready;
    await f.pull();
    return f.cursor;
  }

  /** Streams watch events for `res`, as the Kubernetes watch verb defines them. */
  async *watch(res: StoreResource, opts: WatchOptions = {}): AsyncGenerator<WatchEvent> {
    for await (const batch of this.watchBatches(res, opts)) yield* batch;
  }

  /**
   * The same events as {@linkcode watch}, grouped: each batch is everything that was queued for
   * this watcher when it asked (the HTTP watch writes a batch as one chunk).
   */
  async *watchBatches(res: StoreResource, opts: WatchOptions = {}): AsyncGenerator<WatchEvent[]> {
    const feed = this.#feed(res);
    await feed.ready;
    const sub = new Subscriber(res, opts, "", this.#maxQueued);
    const onAbort = () => sub.close();
    opts.signal?.addEventListener("abort", onAbort);
    if (opts.signal?.aborted) sub.close();
    let bookmarks: ReturnType<typeof setInterval> | null = null;
    try {
      const rv = opts.resourceVersion ?? "";
      let from: string;
      if (rv === "" || rv === "0") {
        const initial = await list(this.store, res, {
          namespace: opts.namespace,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
        });
        for (const obj of initial.items) sub.push({ type: "ADDED", object: obj });
        from = toEventId(initial.resourceVersion) ?? ZERO_EVENT;
      } else {
        from = Store.eventIdOf(rv);
        const watermark = await this.store.watermark(res);
        if (from < watermark) {
          sub.fail(gone(`too old resource version: ${rv} (${toResourceVersion(watermark)})`));
        }
      }
      if (!sub.closed) await this.#catchUp(feed, sub, from);
      if (opts.allowBookmarks && !sub.closed) {
        bookmarks = setInterval(() => {
          const seen = sub.seen > feed.cursor ? sub.seen : feed.cursor;
          if (seen) sub.push({ type: "BOOKMARK", object: { metadata: { resourceVersion: toResourceVersion(seen) } } });
        }, this.#bookmarkMs);
      }
      yield* sub.batches();
    } finally {
      if (bookmarks !== null) clearInterval(bookmarks);
      opts.signal?.removeEventListener("abort", onAbort);
      sub.close();
      feed.subs.delete(sub);
    }
  }

  /** Replays events after `from` (from the buffer or the KV log), then registers `sub` live. */
  async #catchUp(feed: Feed, sub: Subscriber, from: string) {
    sub.seen = from;
    const kv = this.store.kv;
    while (true) {
      // No await between this check and registering: the feed dispatches synchronously.
      if (sub.seen >= feed.cursor || feed.bufferStart <= sub.seen) {
        // A hub closed while this watch was starting ends it instead of registering it.
        if (this.#closed) return sub.close();
        for (const ev of feed.buffer) sub.deliver(ev);
        feed.subs.add(sub);
        return;
      }
      const upTo = feed.cursor;
      const iter = kv.list<LogEntry[]>(
        { start: logKey(feed.res.key, commitOf(sub.seen)), end: logKey(feed.res.key, after(commitOf(upTo))) },
        { limit: 200 },
      );
      let n = 0;
      for await (const entry of iter) {
        for (const { ev, e } of entriesOf(entry.key[2] as string, entry.value)) {
          if (ev <= sub.seen || ev > upTo) continue;
          n++;
          sub.deliver(await decodeEvent(this.store, feed.res, ev, e));
        }
      }
      if (from < await this.store.watermark(feed.res)) {
        // Compaction overtook the replay: some events may be missing.
        sub.fail(gone(`too old resource version: ${toResourceVersion(from)}`));
        return;
      }
      if (n === 0) sub.seen = upTo;
      if (sub.closed) return;
    }
  }

  close() {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
    for (const f of this.#feeds.values()) f.close();
    this.#feeds.clear();
  }
}
