/**
 * The sandbox's watchdog worker. The main thread bumps a counter in shared memory every 50 ms
 * and records which container's guest it is running; when the counter stops moving for the
 * deadline (a guest spinning without yielding), this worker — still free to run — names the
 * guest on stderr, and the host kills the sandbox. Messages: `{ sab, deadlineMs }` once, then
 * `{ slot, id }` for each container.
 * @module
 */
import { COLLECTING, CURRENT, HEARTBEAT, LAST, WATCHDOG_PREFIX, type WatchdogReport } from "./protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
}

const ids = new Map<number, string>();
let state: Int32Array | undefined;

(globalThis as unknown as WorkerScope).onmessage = (e: MessageEvent) => {
  const m = e.data as { sab?: SharedArrayBuffer; deadlineMs?: number; slot?: number; id?: string };
  if (m.slot !== undefined && m.id !== undefined) {
    ids.set(m.slot, m.id);
    return;
  }
  if (!m.sab || !m.deadlineMs) return;
  state = new Int32Array(m.sab);
  const deadline = m.deadlineMs;
  let last = Atomics.load(state, HEARTBEAT);
  let since = performance.now();
  let reported = false;
  setInterval(() => {
    const now = performance.now();
    const beat = Atomics.load(state!, HEARTBEAT);
    if (beat !== last || Atomics.load(state!, COLLECTING)) { // a collection the sandbox asked for is no stall
      last = beat;
      since = now;
      reported = false;
      return;
    }
    if (reported || now - since < deadline) return;
    reported = true;
    const slot = Atomics.load(state!, CURRENT) || Atomics.load(state!, LAST);
    const report: WatchdogReport = { container: ids.get(slot), stalledMs: Math.round(now - since) };
    const line = new TextEncoder().encode(`${WATCHDOG_PREFIX}${JSON.stringify(report)}\n`);
    for (let off = 0; off < line.length;) off += Deno.stderr.writeSync(line.subarray(off));
  }, Math.min(100, Math.max(10, deadline / 10)));
};
