/**
 * The runner's deadline watch for direct calls (plugins/host/direct.ts), off the call path.
 * Telling the plugin host "call begins, deadline D" and "ends" on every call would wake the host
 * twice per call, and on a loaded two-core machine those wake-ups compete with the call itself
 * (measured: ≈0.1 ms p50 on the round trip, more on a create; docs/benchmarks.md). So the call
 * path only marks the call in shared memory (a few atomic stores), and a watcher thread looks
 * every {@linkcode POLL_MS}: a call it finds still running is reported to the host then
 * (`begin` with the time left), and its `end` follows when it finishes. A spinning guest blocks
 * the main thread, not the watcher, so the host always learns of it, at most
 * {@linkcode POLL_MS} late, and kills the runner when the deadline passes. Fast calls (nearly
 * all) cost the host nothing.
 *
 * The watcher is the only writer of `begin`/`end` lines, so they reach the host in order. Lines
 * are small (< 4 KiB), so a write is atomic against the main thread's writes on the same pipe.
 * @module
 */

/** How often the watcher looks for a running call, ms (deadlines are whole seconds). */
export const POLL_MS = 50;

/** The longest key the shared slot holds (AdmissionReview uids are 36 characters). */
export const MAX_KEY = 200;

/** The watcher thread's module (from a blob: URL: it needs no permission). */
const WATCHER = `
const POLL_MS = ${POLL_MS};
self.onmessage = (e) => {
  const sab = e.data;
  const st = new Int32Array(sab, 0, 4);
  const t = new Float64Array(sab, 16, 1);
  const key = new Uint8Array(sab, 24, ${MAX_KEY});
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const write = (m) => {
    const b = enc.encode(JSON.stringify(m) + "\\n");
    for (let at = 0; at < b.length;) at += Deno.stdout.writeSync(b.subarray(at));
  };
  for (;;) {
    Atomics.wait(st, 3, 0, POLL_MS);
    const n = Atomics.load(st, 0);
    if (n <= 0) continue;
    const k = dec.decode(key.slice(0, st[2]));
    const ms = st[1];
    const t0 = t[0];
    // Still the same call (the key read above is its key): now it is reported.
    if (Atomics.compareExchange(st, 0, n, -n) !== n) continue;
    write({ id: 0, begin: { key: k, ms: Math.max(1, Math.round(ms - (Date.now() - t0))), deadline: ms } });
    while (Atomics.load(st, 0) === -n) Atomics.wait(st, 0, -n, 1000);
    write({ id: 0, end: { key: k } });
  }
};
`;

/** Marks direct calls for the watcher thread. */
export interface DeadlineWatch {
  /**
   * A call starts running; its deadline is `ms` after `since` (epoch ms: when it arrived). False
   * when its key does not fit (the caller reports it to the host itself).
   */
  begin(key: string, ms: number, since: number): boolean;
  /** The call started last has ended. */
  end(): void;
}

/** Starts the watcher thread. Pure apart from the thread. */
export function startDeadlineWatch(): DeadlineWatch {
  const sab = new SharedArrayBuffer(24 + MAX_KEY);
  const st = new Int32Array(sab, 0, 4);
  const t = new Float64Array(sab, 16, 1);
  const key = new Uint8Array(sab, 24, MAX_KEY);
  const enc = new TextEncoder();
  const url = URL.createObjectURL(new Blob([WATCHER], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  worker.postMessage(sab);
  let n = 0;
  return {
    begin(k, ms, since) {
      if (k.length > MAX_KEY / 3) return false;
      const { written } = enc.encodeInto(k, key);
      st[2] = written;
      st[1] = ms;
      t[0] = since;
      n = n >= 0x3fffffff ? 1 : n + 1;
      Atomics.store(st, 0, n);
      return true;
    },
    end() {
      if (Atomics.exchange(st, 0, 0) < 0) Atomics.notify(st, 0);
    },
  };
}
