/**
 * The API bench's account of who waited for a CPU (issue 2): over a window, the CPU time and the
 * run-queue wait (`/proc/<pid>/task/<tid>/schedstat`: time runnable but not running) of the
 * server's thread (this process's main thread), of Deno KV's SQLite writer threads (`sw-*`) and
 * of the load worker's thread, and the hypervisor's steal time. On 2 cores the write tail is
 * mostly these waits (docs/benchmarks.md, "Who holds the server's thread"); `api_stalls.ts`
 * attributes them in detail from a kernel scheduler trace.
 *
 * @example
 * ```ts ignore
 * const w0 = threadWaits(clientTid);
 * await slice();
 * const total = threadWaits(clientTid, w0); // the window's deltas
 * ```
 * @module
 */
import { parseThread } from "./sched_stat.ts";

export interface ThreadTimes {
  runMs: number;
  waitMs: number;
}

/** Absolute counters (a snapshot) or, given `since`, the deltas since it, added to `sum`. */
export interface ThreadWaits {
  wallMs: number;
  server: ThreadTimes;
  sqlite: ThreadTimes;
  client: ThreadTimes;
  stealMs: number;
}

function times(tids: string[]): ThreadTimes {
  let runNs = 0, delayNs = 0;
  for (const tid of tids) {
    try {
      const s = parseThread(Deno.readTextFileSync(`/proc/self/task/${tid}/schedstat`), "");
      runNs += s.runNs, delayNs += s.delayNs;
    } catch { /* the thread ended */ }
  }
  return { runMs: runNs / 1e6, waitMs: delayNs / 1e6 };
}

/** This process's thread ids whose name starts with `prefix`. */
function named(prefix: string): string[] {
  const out: string[] = [];
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      if (Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).startsWith(prefix)) out.push(t.name);
    } catch { /* ended */ }
  }
  return out;
}

/** Steal time of all CPUs (`/proc/stat`, USER_HZ = 100), ms. */
function stealMs(): number {
  return Number(Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)[8]) * 10;
}

/** A snapshot now, or (with `since`) the deltas since that snapshot added to `sum`. Linux only. */
export function threadWaits(clientTid: number, since?: ThreadWaits, sum?: ThreadWaits): ThreadWaits {
  const now: ThreadWaits = {
    wallMs: performance.now(),
    server: times([String(Deno.pid)]),
    sqlite: times(named("sw-")),
    client: times([String(clientTid)]),
    stealMs: stealMs(),
  };
  if (!since) return now;
  const d = (a: ThreadTimes, b: ThreadTimes, s?: ThreadTimes): ThreadTimes => ({
    runMs: a.runMs - b.runMs + (s?.runMs ?? 0),
    waitMs: a.waitMs - b.waitMs + (s?.waitMs ?? 0),
  });
  return {
    wallMs: now.wallMs - since.wallMs + (sum?.wallMs ?? 0),
    server: d(now.server, since.server, sum?.server),
    sqlite: d(now.sqlite, since.sqlite, sum?.sqlite),
    client: d(now.client, since.client, sum?.client),
    stealMs: now.stealMs - since.stealMs + (sum?.stealMs ?? 0),
  };
}
