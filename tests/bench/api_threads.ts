/**
 * CPU time of this process's threads, by thread name, from `/proc/self/task` (Linux): which of
 * the API server's work runs on the JavaScript thread and which on Deno's others (KV's SQLite
 * writer, the HTTP and blocking-pool threads, V8's GC helpers).
 * @module
 */

/** CPU seconds of each thread of this process, by thread name (`comm`; same names summed). */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      const stat = Deno.readTextFileSync(`/proc/self/task/${t.name}/stat`);
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = t.name === String(Deno.pid) ? "main (JS)" : comm.replace(/[-_ ]?\d+$/, "");
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch { /* gone */ }
  }
  return out;
}

