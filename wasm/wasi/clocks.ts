/**
 * `wasi:clocks` for one instance: a monotonic clock in nanoseconds and the wall clock, with
 * timers as pollables that suspend only this guest.
 * @module
 */
import { Pollable, type Readiness, READY } from "./io.ts";

const ORIGIN_NS = BigInt(Math.round(performance.timeOrigin * 1e6));
const MAX_TIMER_MS = 0x7fffffff;

function nowNs(): bigint {
  return BigInt(Math.round(performance.now() * 1e6));
}

function timer(deadlineNs: bigint, signal?: AbortSignal): Readiness {
  let waiting: Promise<void> | undefined;
  const ready = () => nowNs() >= deadlineNs;
  return {
    ready,
    wait() {
      waiting ??= new Promise<void>((resolve) => {
        const tick = () => {
          const left = Number((deadlineNs - nowNs()) / 1_000_000n);
          if (left <= 0 || signal?.aborted) {
            signal?.removeEventListener("abort", onAbort);
            resolve();
            return;
          }
          id = setTimeout(tick, Math.min(left + 1, MAX_TIMER_MS));
        };
        const onAbort = () => {
          clearTimeout(id);
          resolve();
        };
        let id: ReturnType<typeof setTimeout> | undefined;
        signal?.addEventListener("abort", onAbort, { once: true });
        tick();
      }).finally(() => (waiting = undefined));
      return waiting;
    },
  };
}

/** The `wasi:clocks/*` imports of one instance. */
export function clockImports(signal?: AbortSignal) {
  return {
    "wasi:clocks/monotonic-clock": {
      now: nowNs,
      resolution: () => 1_000n,
      subscribeInstant: (when: bigint) => new Pollable(when <= nowNs() ? READY : timer(when, signal), signal),
      subscribeDuration: (ns: bigint) => new Pollable(ns <= 0n ? READY : timer(nowNs() + ns, signal), signal),
    },
    "wasi:clocks/wall-clock": {
      now() {
        const ns = ORIGIN_NS + nowNs();
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000 }),
    },
  };
}
