/**
 * Breaks down the young-generation scavenges of a `--v8-flags=--trace-gc-nvp` trace (issue 2
 * diagnostics, not part of `./skiff bench`): for one isolate (the server's, i.e. the first that
 * collects, unless `isolate=0x…` names another) and optionally a window (`from=<ms> to=<ms>`, in
 * the isolate's own trace clock, which for the main isolate is `performance.now()`), every
 * scavenge's pause with its phases (roots, parallel copy, weak handles, array-buffer sweep, the
 * time the main thread waited for a safepoint), the bytes that survived and were promoted, the
 * young generation's size, and the heap's size; then sums and a line per scavenge over `long=<ms>`.
 *
 * V8 prints the trace to stdout, where other output can break its lines: run the diagnostic with
 * its own output on stderr (`api_tail.ts` and `api_gather.ts` take `log=stderr`).
 *
 * Run: `deno run -A tests/bench/api_gc_nvp.ts trace.txt [from=<ms>] [to=<ms>] [long=2] [isolate=0x…]`
 * @module
 */

/** One GC record of the trace. */
export interface GcRecord {
  isolate: string;
  at: number;
  fields: Record<string, number | string | boolean>;
}

/** Every `GC: {…}` record of a `--trace-gc-nvp` trace whose JSON survived intact. */
export function parseGcNvp(text: string): GcRecord[] {
  const out: GcRecord[] = [];
  const re = /\[\d+:(0x[0-9a-f]+):\d+\]\s+(\d+) ms: GC: (\{[^\n]*\})/g;
  for (const m of text.matchAll(re)) {
    try {
      out.push({ isolate: m[1], at: Number(m[2]), fields: JSON.parse(m[3]) });
    } catch { /* a line broken by other output */ }
  }
  return out;
}

const num = (r: GcRecord, k: string) => Number(r.fields[k] ?? 0);

/** The per-scavenge columns printed, in order: [label, field]. */
const COLUMNS: [string, string][] = [
  ["pause", "pause"],
  ["safepoint", "time_to_safepoint"],
  ["roots", "scavenge.roots"],
  ["parallel", "scavenge.parallel"],
  ["bg parallel", "background.scavenge.parallel"],
  ["weak", "scavenge.weak"],
  ["wgh.identify", "scavenge.weak_global_handles.identify"],
  ["wgh.process", "scavenge.weak_global_handles.process"],
  ["sweep ab", "scavenge.sweep_array_buffers"],
  ["free rs", "scavenge.free_remembered_set"],
  ["pin", "scavenge.pin_objects_conservative"],
  ["resize", "scavenge.resize_new_space"],
];

if (import.meta.main) {
  const arg = (name: string) => Deno.args.find((a) => a.startsWith(`${name}=`))?.split("=")[1];
  const file = Deno.args.find((a) => !a.includes("="));
  if (!file) {
    console.error("usage: api_gc_nvp.ts <trace file> [from=<ms>] [to=<ms>] [long=<ms>] [isolate=0x…]");
    Deno.exit(2);
  }
  const all = parseGcNvp(Deno.readTextFileSync(file));
  const isolate = arg("isolate") ?? all[0]?.isolate;
  const from = Number(arg("from") ?? -Infinity), to = Number(arg("to") ?? Infinity);
  const long = Number(arg("long") ?? 2);
  const mine = all.filter((r) => r.isolate === isolate && r.at >= from && r.at <= to);
  const sc = mine.filter((r) => r.fields.gc === "s");
  const other = mine.filter((r) => r.fields.gc !== "s");
  const sum = (xs: GcRecord[], k: string) => xs.reduce((a, r) => a + num(r, k), 0);
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  console.log(
    `isolate ${isolate}, window ${from}..${to} ms: ${sc.length} scavenges, ${other.length} other GCs (${
      other.map((r) => `${r.fields.gc} ${num(r, "pause").toFixed(1)} ms`).join(", ")
    })`,
  );
  const pauses = sc.map((r) => num(r, "pause")).sort((a, b) => a - b);
  console.log(
    `scavenge pauses: median ${(pauses[Math.floor(pauses.length / 2)] ?? 0).toFixed(2)}, longest ${
      (pauses.at(-1) ?? 0).toFixed(2)
    } ms; main-thread phases ${
      (sum(sc, "scavenge.roots") + sum(sc, "scavenge.parallel") + sum(sc, "scavenge.sweep_array_buffers") +
        sum(sc, "scavenge.weak") + sum(sc, "scavenge.free_remembered_set")).toFixed(1)
    } of ${sum(sc, "pause").toFixed(1)} ms paused`,
  );
  console.log(
    `scavenges, summed: ${COLUMNS.map(([l, k]) => `${l} ${sum(sc, k).toFixed(1)}`).join(", ")} ms; ` +
      `survived ${kb(sum(sc, "new_space_survived"))}, promoted ${kb(sum(sc, "promoted"))}, allocated ${
        kb(sum(sc, "allocated"))
      }`,
  );
  console.log(`scavenges over ${long} ms:`);
  for (const r of sc.filter((r) => num(r, "pause") > long)) {
    console.log(
      `  at ${r.at}: ${COLUMNS.map(([l, k]) => `${l} ${num(r, k).toFixed(2)}`).join(", ")}; survived ${
        kb(num(r, "new_space_survived"))
      }, promoted ${kb(num(r, "promoted"))}, young ${kb(num(r, "new_space_capacity"))}, heap ${
        kb(num(r, "start_object_size"))
      } → ${kb(num(r, "end_object_size"))}, throughput ${num(r, "scavenge_throughput").toFixed(0)} B/ms`,
    );
  }
  const short = sc.filter((r) => num(r, "pause") <= long);
  if (short.length) {
    console.log(
      `scavenges up to ${long} ms: ${short.length}, pause ${sum(short, "pause").toFixed(1)} ms, survived ${
        kb(sum(short, "new_space_survived"))
      }, promoted ${kb(sum(short, "promoted"))}`,
    );
  }
}
