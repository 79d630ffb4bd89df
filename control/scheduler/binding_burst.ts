/**
 * Binding bursts: the binding cycles started while more pods wait in the active queue are held
 * and started together, so their `POST pods/{name}/binding` requests reach the API server at
 * once and share its group commits (control/store/committer.ts). With built-ins only the cycles
 * are synchronous and the bindings of one loop slice already leave together; with a batch
 * (Wasm) plugin every cycle awaits the plugin, and without this each binding would leave alone
 * and cost the API server one KV commit.
 *
 * A burst is released when the queue has nothing more to pop right now (so an isolated pod binds
 * at once), when `maxHeld` bindings are held, or when the oldest has waited `maxWaitMs`. The
 * decision is checked at the end of each scheduling cycle: no timer per pod.
 *
 * @example
 * ```ts
 * const burst = new BindingBurst({ maxHeld: 16, maxWaitMs: 8 });
 * burst.hold(() => console.log("bind pod-1"));
 * burst.settle({ busy: true }); // held: more pods are waiting
 * burst.settle({ busy: false }); // released: logs "bind pod-1"
 * ```
 * @module
 */

/** What decides whether held bindings start now. */
export interface BurstState {
  /** Bindings held. */
  held: number;
  /** When the oldest held binding was held (ms, the burst's clock). */
  oldestAt: number;
  now: number;
  /** More pods can be popped from the active queue right now. */
  busy: boolean;
  maxHeld: number;
  maxWaitMs: number;
}

/** Whether the held bindings are due: queue idle, burst full, or the oldest waited long enough. */
export function burstDue(s: BurstState): boolean {
  if (s.held === 0) return false;
  return !s.busy || s.held >= s.maxHeld || s.now - s.oldestAt >= s.maxWaitMs;
}

export interface BindingBurstOptions {
  /** Bindings held at most before they start (default 16); 1 or less starts each at once. */
  maxHeld?: number;
  /** How long the oldest held binding may wait, in ms (default 8). */
  maxWaitMs?: number;
  now?: () => number;
  /** Called once per release that started at least one binding (for counters). */
  onRelease?: (started: number) => void;
}

/** Holds binding starts (thunks) and runs them together when `burstDue` says so. */
export class BindingBurst {
  readonly maxHeld: number;
  readonly maxWaitMs: number;
  readonly #now: () => number;
  readonly #onRelease?: (started: number) => void;
  #held: (() => void)[] = [];
  #oldestAt = 0;

  constructor(opts: BindingBurstOptions = {}) {
    const maxHeld = opts.maxHeld ?? 16;
    const maxWaitMs = opts.maxWaitMs ?? 8;
    if (!Number.isFinite(maxHeld) || !Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
      throw new RangeError(
        `Binding bursts need a finite size and a finite, non-negative wait (got ${maxHeld}, ${maxWaitMs} ms)`,
      );
    }
    this.maxHeld = Math.max(1, maxHeld);
    this.maxWaitMs = maxWaitMs;
    this.#now = opts.now ?? (() => performance.now());
    this.#onRelease = opts.onRelease;
  }

  /** Bindings held now. */
  get size(): number {
    return this.#held.length;
  }

  /** Holds one binding start; it runs on the next release. */
  hold(start: () => void): void {
    if (this.#held.length === 0) this.#oldestAt = this.#now();
    this.#held.push(start);
  }

  /** Releases the held bindings if due (see `burstDue`); returns how many started. */
  settle(opts: { busy: boolean }): number {
    const due = burstDue({
      held: this.#held.length,
      oldestAt: this.#oldestAt,
      now: this.#now(),
      busy: opts.busy,
      maxHeld: this.maxHeld,
      maxWaitMs: this.maxWaitMs,
    });
    return due ? this.release() : 0;
  }

  /** Starts every held binding, oldest first; returns how many. */
  release(): number {
    const held = this.#held;
    if (held.length === 0) return 0;
    this.#held = [];
    for (const start of held) start();
    this.#onRelease?.(held.length);
    return held.length;
  }
}
