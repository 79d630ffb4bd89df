/**
 * The plugin state file's cost per flush (plugins/host/state_file.ts), `deno run -A
 * tests/bench/state_file.ts`: the crun runtime plugin's pattern (4 state changes per pod start,
 * a ~900-byte sandbox record and a ~700-byte container record per pod) fed for 54 pods, through
 * the older whole-file rewrite (the JSON array written to `<file>.tmp` and renamed, with its
 * per-value base64 cache) and through the append-only log, against a raw baseline measured in
 * the same run: one `write` of the same change line to an open file. Prints the mean per flush
 * over the whole run and over the last pod's flushes (54 pods stored), and the load average.
 * @module
 */
import { base64, StateFile } from "../../plugins/host/state_file.ts";

const PODS = 54;
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 20);
const enc = new TextEncoder();

/** The older runner's save: every entry, as one JSON array, to a temp file renamed over the file. */
function rewrite(file: string, entries: [string, Uint8Array][]): void {
  const data = entries.map(([k, v]) => [k, base64(v)]);
  Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify(data));
  Deno.renameSync(`${file}.tmp`, file);
}

const record = (id: string, n: number, step: number) =>
  enc.encode(JSON.stringify({ id, step, metadata: { name: `pod-${id}`, uid: id }, pad: "x".repeat(n) }));

/** One run of 54 pod starts; `flush` is timed, the store changes are not. */
function run(flush: (entries: [string, Uint8Array][]) => void): { all: number[]; last: number[] } {
  const store = new Map<string, Uint8Array>();
  const all: number[] = [];
  let last: number[] = [];
  for (let p = 0; p < PODS; p++) {
    const id = `${p.toString(16).padStart(8, "0")}-pod`;
    const changes = [
      () => store.set(`s/${id}`, record(id, 800, 0)),
      () => store.set(`c/${id}-c`, record(id, 600, 0)),
      () => store.set(`c/${id}-c`, record(id, 600, 1)),
      () => store.set(`s/${id}`, record(id, 800, 1)),
    ];
    last = [];
    for (const change of changes) {
      change();
      const entries = [...store];
      const t = performance.now();
      flush(entries);
      const ms = performance.now() - t;
      all.push(ms);
      last.push(ms);
    }
  }
  return { all, last };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-state-" });
try {
  const results = {
    raw: { all: [] as number[] },
    old: { all: [] as number[], last: [] as number[] },
    log: { all: [] as number[], last: [] as number[] },
  };
  let bytes = { old: 0, log: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const raw = Deno.openSync(`${dir}/raw-${r}`, { create: true, append: true });
    const saved = new Map<string, Uint8Array>();
    run((entries) => {
      // The baseline: the same change line, written with one write, no diff, no bookkeeping.
      const changed = entries.filter(([k, v]) => saved.get(k) !== v);
      for (const [k, v] of changed) saved.set(k, v);
      const line = enc.encode(JSON.stringify(changed.map(([k, v]) => [k, base64(v)])) + "\n");
      const t = performance.now();
      raw.writeSync(line);
      results.raw.all.push(performance.now() - t);
    });
    raw.close();
    const o = run((entries) => rewrite(`${dir}/old-${r}.json`, entries));
    results.old.all.push(...o.all);
    results.old.last.push(...o.last);
    const file = StateFile.open(`${dir}/log-${r}.json`);
    const l = run((entries) => file.save(entries));
    file.close();
    results.log.all.push(...l.all);
    results.log.last.push(...l.last);
    bytes = {
      old: Deno.statSync(`${dir}/old-${r}.json`).size,
      log: Deno.statSync(`${dir}/log-${r}.json`).size,
    };
  }
  const rawMean = mean(results.raw.all);
  const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
  console.log(
    `state file, ${PODS} pods × 4 flushes, ${ROUNDS} rounds; load average ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
  console.log(`  raw baseline (one write of the change line): ${us(rawMean)} per flush`);
  console.log(
    `  older whole-file rewrite: ${us(mean(results.old.all))} per flush (${
      (mean(results.old.all) / rawMean).toFixed(1)
    }× raw), at ${PODS} pods ${us(mean(results.old.last))}; file ${bytes.old} bytes`,
  );
  console.log(
    `  append-only log:          ${us(mean(results.log.all))} per flush (${
      (mean(results.log.all) / rawMean).toFixed(1)
    }× raw), at ${PODS} pods ${us(mean(results.log.last))}; file ${bytes.log} bytes`,
  );
  console.log(
    `  log vs rewrite at ${PODS} pods: ${
      (mean(results.old.last) / mean(results.log.last)).toFixed(1)
    }× less time per flush`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
