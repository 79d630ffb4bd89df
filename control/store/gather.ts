/**
 * Gathering writes before a commit that starts from idle (issue 2).
 *
 * The group committer keeps one KV commit in flight and puts everything queued meanwhile into the
 * next, so under load commits are full. At moderate rates they are not: the first write of a burst
 * finds no commit in flight and commits alone, because the server thread runs its request through
 * to the commit before the runtime has even read the other requests already waiting on their
 * sockets (Deno polls its sockets only when the thread has nothing left to run). Every commit costs
 * about the same whatever it carries (one SQLite transaction: 50–100 µs of the server thread and
 * 200–300 µs of KV's writer thread, measured), so at half the peak rate most of that CPU went to
 * commits of one or two writes.
 *
 * Before such a commit the committer can let the runtime take one **turn**: await an operation
 * completed by another thread, so that the runtime parks and polls its I/O, and the requests
 * already readable run up to their own `submit`. A turn costs about 40 µs of wall time and 20 µs
 * of the server thread, and gathers nothing when no other request is on its way (one client
 * writing sequentially). So it is taken only while it pays: {@linkcode GatherPolicy} keeps a moving
 * average of how often recent turns gathered at least one more write, gathers while that is at
 * least a quarter, and otherwise probes once every 8 commits from idle so that a burst of load
 * turns it back on. A macrotask hop (`MessageChannel`, `setImmediate`) does not poll I/O in Deno
 * (measured: a socket that was readable stayed unread for 3,872 consecutive hops), and a 0 ms timer
 * waits 1–3 ms, so neither can serve.
 *
 * The store does not gather by default: in interleaved comparisons on a shared machine it brought
 * fuller commits but no gain in CPU or latency beyond the noise, and it holds back a commit that
 * would otherwise run on KV's thread while the server thread parses the next requests
 * (docs/benchmarks.md, "Gathering writes before a commit").
 *
 * @example
 * ```ts
 * import { GatherPolicy } from "./gather.ts";
 * const policy = new GatherPolicy();
 * if (policy.shouldGather()) {
 *   // await turn() while the queue grows, then:
 *   policy.record(true);
 * }
 * ```
 * @module
 */

/**
 * `never`: commit at once (the store's default); `adaptive`: gather while it pays; `always`: for
 * comparisons and tests.
 */
export type GatherMode = "adaptive" | "always" | "never";

/** Turns per gathering at most: measured, later turns rarely brought anything more. */
export const MAX_TURNS = 3;
/** Weight of the latest outcome in the moving average of gathering successes. */
const ALPHA = 1 / 8;
/** Gather while at least this share of recent gatherings brought another write. */
const THRESHOLD = 0.25;
/** When gathering does not pay, still try on every this many commits from idle. */
const PROBE_EVERY = 8;

/** Decides whether a commit from idle first gathers; a pure state machine fed with outcomes. */
export class GatherPolicy {
  mode: GatherMode;
  #success = 0;
  #sinceProbe = 0;

  constructor(mode: GatherMode = "adaptive") {
    this.mode = mode;
  }

  /** The moving share of gatherings that brought at least one more write (0 to 1). */
  get successRate(): number {
    return this.#success;
  }

  /** Whether the commit about to start from idle should first gather. */
  shouldGather(): boolean {
    if (this.mode !== "adaptive") return this.mode === "always";
    if (this.#success >= THRESHOLD) return true;
    if (++this.#sinceProbe < PROBE_EVERY) return false;
    this.#sinceProbe = 0;
    return true;
  }

  /** The outcome of a gathering: whether it brought at least one more write. */
  record(gathered: boolean): void {
    this.#success += ALPHA * ((gathered ? 1 : 0) - this.#success);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Resolves once the runtime has polled its I/O: a digest of nothing runs on Deno's blocking thread
 * pool, so the server thread parks until it completes and takes in whatever became readable.
 * Web Crypto only (Deno Deploy has it); no timers, workers or flags.
 */
export function turn(): Promise<unknown> {
  return crypto.subtle.digest("SHA-1", EMPTY);
}
