/**
 * Who holds the API server's thread in the bench's p99 phase (issue 2 diagnostics, not part of
 * `./skiff bench`). The server is brought to the state the bench's p99 phase finds (the same
 * warm-up and 3 rounds of raw sets, creates and PUTs with 16 in flight, whose create rate sets
 * the half-peak rate unless `rate=` is given), then API slices of creates at that rate alternate
 * with raw `kv.set` slices, as in `./skiff bench api`. With several `arms`, each round runs one API
 * slice per arm (the order rotating every round), so the arms see the same machine:
 *
 * - `default`: the load worker as the bench runs it (nice 0, any CPU);
 * - `nice<N>`: the load worker's thread at nice N (`setpriority`, that thread only) during the slice;
 * - `pin`: the load worker on CPU 1 and the server's thread on CPU 0 during the slice;
 * - `pin-client`: the load worker on CPU 1, the server's thread anywhere;
 * - `pin-writer`: KV's SQLite writer threads ("sw-*") on CPU 1, the rest anywhere;
 * - `split`: the server's thread on CPU 0 and the SQLite writers on CPU 1;
 * - `helpers<N>`: V8's helper threads of the process (GC and compile tasks, "V8 DefaultWorker")
 *   at nice N during the slice (a diagnostic: does their CPU make the server thread wait?);
 * - `slice<µs>`: the server's thread with an EEVDF slice of that many µs (`sched_setattr`,
 *   `thread_slice.ts`) during the slice; `slice<µs>w` also KV's SQLite writers; `slice<µs>all`
 *   every thread of the process but the two load workers' main threads.
 *
 * Every stall of the server thread over 4 ms (a 1 ms timer running late, `api_lag.ts`) is then
 * attributed from the kernel's scheduler trace (`perf record -e sched:sched_switch,sched_wakeup`
 * over the whole window, `sched_trace.ts`): how much of it the thread was on a CPU, runnable but
 * waiting for one, or blocked, and which threads had the CPUs meanwhile. `profile` adds V8's CPU
 * profiler (250 µs samples) to name what ran during the on-CPU stalls. Per arm it also reports
 * each thread's CPU and run-queue wait over the API slices from `/proc/<pid>/task/<tid>/schedstat`,
 * every wait for a CPU of the server thread and of the SQLite writer by length (whether the other
 * CPU sat idle meanwhile, and which thread it was queued behind), and the creates over 10 ms split
 * into before, in and after the handler with those threads' states. `detail` lists every stall.
 *
 * Run (as root, `perf` installed): `deno run -A --config deno.json tests/bench/api_stalls.ts
 * [rate=<n>] [rounds=4] [slice=500] [arms=default,nice10] [profile] [no-perf] [detail]`
 * @module
 */
import { Session } from "node:inspector/promises";
import { encodeObject } from "../../control/store/codec.ts";
import { startControlPlane } from "../../control/mod.ts";
import { percentile } from "./bench_row.ts";
import { configMap, type Stamp, startLoadWorker, type ThreadSettings, warmUp } from "./api_load.ts";
import { type Gap, startLagProbe } from "./api_lag.ts";
import { timedListener } from "./api_timed.ts";
import { parseThread } from "./sched_stat.ts";
import {
  cpuByRole,
  parsePerfSched,
  type Segment,
  stallKind,
  statesIn,
  timelines,
  waitPlacement,
  wakeupsOf,
} from "./sched_trace.ts";
import { monotonicOffsetMs, setThreadCpus, setThreadNice, threadId } from "./thread_ctl.ts";
import {
  applyThreadSlice,
  describeSliceResult,
  getThreadAttr,
  sliceAttr,
  type SliceResult,
} from "./thread_slice.ts";

const arg = (name: string) => Deno.args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
const rounds = Number(arg("rounds") ?? 4);
const sliceCount = Number(arg("slice") ?? 500);
const arms = (arg("arms") ?? "default").split(",");
const usePerf = !Deno.args.includes("no-perf");
const useProfiler = Deno.args.includes("profile");
const detail = Deno.args.includes("detail");
const STALL_MS = 4;

/** The load worker's settings and the server thread's CPUs for an arm. */
function armSettings(
  arm: string,
): {
  worker: ThreadSettings;
  serverCpus?: number[];
  helpersNice?: number;
  writerCpus?: number[];
  slice?: { ns: number; scope: "server" | "writer" | "all" };
} {
  if (arm === "default") return { worker: { nice: 0, cpus: [0, 1] } };
  const sl = /^slice(\d+)(w|all)?$/.exec(arm);
  if (sl) {
    const scope = sl[2] === "w" ? "writer" : sl[2] === "all" ? "all" : "server";
    return { worker: { nice: 0, cpus: [0, 1] }, slice: { ns: Number(sl[1]) * 1000, scope } };
  }
  if (arm === "pin") return { worker: { nice: 0, cpus: [1] }, serverCpus: [0] };
  if (arm === "pin-client") return { worker: { nice: 0, cpus: [1] } };
  if (arm === "split") return { worker: { nice: 0, cpus: [0, 1] }, serverCpus: [0], writerCpus: [1] };
  if (arm === "pin-writer") return { worker: { nice: 0, cpus: [0, 1] }, writerCpus: [1] };
  const h = /^helpers(\d+)$/.exec(arm);
  if (h) return { worker: { nice: 0, cpus: [0, 1] }, helpersNice: Number(h[1]) };
  const m = /^nice(\d+)$/.exec(arm);
  if (m) return { worker: { nice: Number(m[1]), cpus: [0, 1] } };
  throw new Error(
    `unknown arm ${arm}: use default, nice<N>, pin, pin-client, pin-writer, split, helpers<N> or slice<µs>[w|all]`,
  );
}
for (const a of arms) {
  const s = armSettings(a).slice;
  if (s) sliceAttr(getThreadAttr(0), s.ns); // a bad slice fails before the run
}
if (usePerf) {
  try {
    await new Deno.Command("perf", { args: ["--version"], stdout: "null", stderr: "null" }).output();
  } catch {
    console.error(
      "api_stalls.ts needs `perf` (Debian: linux-perf) and root for its scheduler trace; `no-perf` skips the attribution",
    );
    Deno.exit(2);
  }
}
if (navigator.hardwareConcurrency !== 2 && arms.includes("pin")) {
  console.log("note: `pin` assumes CPUs 0 and 1");
}

const dir = await Deno.makeTempDir({ prefix: "skiff-bench-stalls-" });
const kvPath = `${dir}/state.kv`;
const kv = await Deno.openKv(kvPath);
const cp = await startControlPlane({ kv, port: 0, compactionIntervalMs: 0 });
const apiLoad = startLoadWorker();
const rawLoad = startLoadWorker();
let perf: Deno.ChildProcess | undefined;
try {
  const base = `${cp.url}/api/v1/namespaces/default/configmaps`;
  const value = encodeObject(configMap("raw"));
  const sets = (...key: Deno.KvKeyPart[]) => ({ kind: "kv-set", path: kvPath, key, value }) as const;
  // The bench's phases before its p99 slices, in its order.
  await warmUp({ api: apiLoad, raw: rawLoad }, { base, kvPath, value }, 16);
  let createMs = 0;
  for (let round = 0; round < 3; round++) {
    if (round % 2 === 0) await rawLoad.run({ target: sets("raw", round), count: 1000, concurrency: 16 });
    createMs += (await apiLoad.run({
      target: { kind: "create", url: base, prefix: `cm-${round}-` },
      count: 1000,
      concurrency: 16,
    })).elapsedMs;
    await apiLoad.run({
      target: { kind: "update", url: base, prefix: `cm-${round}-` },
      count: 1000,
      concurrency: 16,
    });
    if (round % 2 === 1) await rawLoad.run({ target: sets("raw", round), count: 1000, concurrency: 16 });
  }
  const peak = 3000 / (createMs / 1000);
  const rate = Number(arg("rate") ?? peak / 2);

  const serverTid = threadId();
  const clientTid = await apiLoad.thread();
  const rawTid = await rawLoad.thread();
  const ownComms = () => {
    const m = new Map<number, string>();
    for (const t of Deno.readDirSync(`/proc/${Deno.pid}/task`)) {
      try {
        m.set(Number(t.name), Deno.readTextFileSync(`/proc/${Deno.pid}/task/${t.name}/comm`).trim());
      } catch { /* ended */ }
    }
    return m;
  };
  let own = ownComms();
  const role = (tid: number, comm: string): string => {
    if (tid === 0) return "(a CPU idle)";
    if (tid === serverTid) return "server thread";
    if (tid === clientTid) return "client worker";
    if (tid === rawTid) return "raw kv.set worker";
    if (own.has(tid)) {
      if (comm.startsWith("V8 ")) return "V8 helper threads (own process)";
      if (comm.startsWith("tokio-")) return "tokio/KV threads (own process)";
      if (comm.startsWith("sw-")) return "SQLite writer (own process)";
      return `own: ${comm}`;
    }
    if (comm === "perf") return "perf (this trace)";
    return `other: ${comm.replace(/[-/:]?\d+$/, "")}`;
  };
  // Per arm: schedstat deltas of our threads over its API slices.
  const schedSnap = () => {
    const m = new Map<number, { runNs: number; delayNs: number }>();
    for (const tid of ownComms().keys()) {
      try {
        const s = parseThread(
          Deno.readTextFileSync(`/proc/${Deno.pid}/task/${tid}/schedstat`),
          Deno.readTextFileSync(`/proc/${Deno.pid}/task/${tid}/status`),
        );
        m.set(tid, s);
      } catch { /* ended */ }
    }
    return m;
  };

  const timed = timedListener(cp.server);
  const raw: number[] = [];
  const tidRun = new Map<number, number>();
  const perArm = new Map(arms.map((a) => [a, {
    latencies: [] as number[],
    stamps: [] as Stamp[],
    gaps: [] as Gap[],
    windows: [] as [number, number][],
    sched: new Map<string, { run: number; delay: number }>(),
    creates: 0,
    stealMs: 0,
  }]));
  /** Time the hypervisor ran something else on our vCPUs (`steal` of /proc/stat, all CPUs), ms. */
  const stealMs = () =>
    Number(Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)[8]) * 10;
  const offset = monotonicOffsetMs();
  const dataFile = `${dir}/sched.data`;
  if (usePerf) {
    perf = new Deno.Command("perf", {
      args: [
        "record",
        "-q",
        "-a",
        "-k",
        "CLOCK_MONOTONIC",
        "-e",
        "sched:sched_switch",
        "-e",
        "sched:sched_wakeup",
        "-e",
        "sched:sched_wakeup_new",
        "-o",
        dataFile,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const started = perf;
    const exited = await Promise.race([
      started.status,
      new Promise((r) => setTimeout(() => r(undefined), 500)),
    ]);
    if (exited !== undefined) {
      perf = undefined;
      const err = new TextDecoder().decode((await started.output()).stderr).trim();
      throw new Error(`perf record exited at once (root and perf_event access are needed): ${err}`);
    }
  }
  const session = useProfiler ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 250 });
    await session.post("Profiler.start");
  }
  const loads: number[] = [Deno.loadavg()[0]];
  for (let round = 0; round < rounds; round++) {
    raw.push(...(await rawLoad.run({ target: sets("raw-lat", round), count: sliceCount, rate })).latencies);
    const order = arms.map((_, i) => arms[(i + round) % arms.length]);
    for (const arm of order) {
      const a = perArm.get(arm)!;
      const s = armSettings(arm);
      await apiLoad.thread(s.worker);
      if (s.serverCpus) setThreadCpus(s.serverCpus);
      const helpers = [...ownComms()].filter(([, c]) => c.startsWith("V8 DefaultWorke")).map(([tid]) => tid);
      if (s.helpersNice !== undefined) { for (const tid of helpers) setThreadNice(s.helpersNice, tid); }
      const writers = [...ownComms()].filter(([, c]) => c.startsWith("sw-")).map(([tid]) => tid);
      if (s.writerCpus) { for (const tid of writers) setThreadCpus(s.writerCpus, tid); }
      const sliceOn = (ns: number): SliceResult | undefined => {
        if (!s.slice) return undefined;
        const skip = [...ownComms().keys()].filter((tid) =>
          tid === clientTid || tid === rawTid ||
          (s.slice!.scope === "server" && tid !== serverTid) ||
          (s.slice!.scope === "writer" && tid !== serverTid && !writers.includes(tid))
        );
        return applyThreadSlice(Deno.pid, ns, { skip });
      };
      const sliced = sliceOn(s.slice?.ns ?? 0);
      if (sliced && round === 0) console.log(`arm ${arm}: ${describeSliceResult(sliced)}`);
      const before = schedSnap();
      const steal0 = stealMs();
      const probe = startLagProbe(STALL_MS);
      const t0 = performance.timeOrigin + performance.now();
      const r = await apiLoad.run({
        target: { kind: "create", url: timed.configMaps, prefix: `lat-${round}-${arm}-` },
        count: sliceCount,
        rate,
      });
      const t1 = performance.timeOrigin + performance.now();
      probe.stop();
      const after = schedSnap();
      a.stealMs += stealMs() - steal0;
      if (s.serverCpus) setThreadCpus([0, 1]);
      if (s.helpersNice !== undefined) { for (const tid of helpers) setThreadNice(0, tid); }
      if (s.writerCpus) { for (const tid of writers) setThreadCpus([0, 1], tid); }
      sliceOn(0);
      await apiLoad.thread({ nice: 0, cpus: [0, 1] });
      a.latencies.push(...r.latencies);
      a.stamps.push(...r.stamps ?? []);
      a.gaps.push(...probe.gaps);
      a.windows.push([t0, t1]);
      a.creates += sliceCount;
      for (const [tid, st] of after) {
        const b = before.get(tid) ?? { runNs: 0, delayNs: 0 };
        tidRun.set(tid, (tidRun.get(tid) ?? 0) + st.runNs - b.runNs);
        const k = role(tid, own.get(tid) ?? ownComms().get(tid) ?? "");
        const acc = a.sched.get(k) ?? { run: 0, delay: 0 };
        acc.run += (st.runNs - b.runNs) / 1e6;
        acc.delay += (st.delayNs - b.delayNs) / 1e6;
        a.sched.set(k, acc);
      }
    }
    loads.push(Deno.loadavg()[0]);
  }
  const profile = session ? (await session.post("Profiler.stop")).profile : undefined;
  session?.disconnect();
  await timed.shutdown();
  if (perf) {
    await new Promise((r) => setTimeout(r, 100));
    perf.kill("SIGINT");
    const status = await perf.output();
    perf = undefined;
    const err = new TextDecoder().decode(status.stderr).trim();
    if (err) console.log(`perf record: ${err}`);
  }

  // ---- attribution ---- (threads started during the window, e.g. the profiler's, count as ours too)
  own = new Map([...own, ...ownComms()]);
  const toMono = (abs: number) => abs + offset;
  let tl: ReturnType<typeof timelines> | undefined;
  let events: ReturnType<typeof parsePerfSched> = [];
  if (usePerf) {
    const out = await new Deno.Command("perf", {
      args: ["script", "-i", dataFile, "-F", "tid,cpu,time,event,trace"],
      stdout: "piped",
      stderr: "null",
    }).output();
    events = parsePerfSched(new TextDecoder().decode(out.stdout));
    tl = timelines(events, events.length ? events[events.length - 1].at : 0);
    console.log(`perf: ${events.length} scheduler events`);
  }
  // Profile samples as [monotonic ms, label].
  const samples: [number, string][] = [];
  if (profile) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    let t = profile.startTime;
    for (let i = 0; i < profile.samples!.length; i++) {
      t += profile.timeDeltas![i];
      const f = byId.get(profile.samples![i])!.callFrame;
      samples.push([
        t / 1000,
        `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/work\/main\//, "")}:${f.lineNumber + 1}`,
      ]);
    }
  }
  const fmt = (x: number) => x.toFixed(2);
  // The server's SQLite writer: of KV's writer threads, the one that ran most in the API slices.
  const sqliteTid = [...tidRun].filter(([tid]) => (own.get(tid) ?? "").startsWith("sw-")).sort((x, y) =>
    y[1] - x[1]
  )[0]?.[0];
  type States = ReturnType<typeof statesIn>;
  const add = (into: States | undefined, s: States): States =>
    into
      ? {
        running: into.running + s.running,
        runnable: into.runnable + s.runnable,
        sleeping: into.sleeping + s.sleeping,
        disk: into.disk + s.disk,
        unknown: into.unknown + s.unknown,
      }
      : { ...s };
  const showStates = (s: States | undefined) =>
    s
      ? `on a CPU ${s.running.toFixed(0)}, runnable ${s.runnable.toFixed(0)}, blocked ${
        s.sleeping.toFixed(0)
      }, in D (I/O) ${s.disk.toFixed(0)}${s.unknown > 0.5 ? `, unknown ${s.unknown.toFixed(0)}` : ""}`
      : "-";
  console.log(
    `load ${loads.map((l) => l.toFixed(2)).join(" → ")}; peak ${peak.toFixed(0)}/s, rate ${
      rate.toFixed(0)
    }/s, ` +
      `${rounds} rounds × ${sliceCount}; raw kv.set p50 ${fmt(percentile(raw, 50))} p99 ${
        fmt(percentile(raw, 99))
      } ms`,
  );
  const summary: Record<string, unknown> = {
    load: loads,
    rate: Math.round(rate),
    rawP99: Number(fmt(percentile(raw, 99))),
  };
  for (const [arm, a] of perArm) {
    const handler = a.stamps.map((s) => s.end - s.start);
    const beforeH = a.stamps.map((s) => s.start - s.sent);
    const afterH = a.stamps.map((s) => s.done - s.end);
    const stalls = a.gaps.filter(([, l]) => l > STALL_MS);
    console.log(
      `\n== arm ${arm}: ${a.creates} creates; client p50 ${fmt(percentile(a.latencies, 50))} p99 ${
        fmt(percentile(a.latencies, 99))
      } ms; server side p99 ${fmt(percentile(handler, 99))} ms; before the handler p99 ${
        fmt(percentile(beforeH, 99))
      } ms, after it ${fmt(percentile(afterH, 99))} ms`,
    );
    const span = a.windows.reduce((s, [x, y]) => s + y - x, 0);
    console.log(
      `  threads over the API slices (${
        span.toFixed(0)
      } ms; steal ${a.stealMs} ms; /proc schedstat, ms run / ms waiting for a CPU):`,
    );
    for (const [k, v] of [...a.sched].sort((x, y) => y[1].run - x[1].run)) {
      if (v.run + v.delay > 1) console.log(`    ${k}: run ${fmt(v.run)}, run-queue wait ${fmt(v.delay)}`);
    }
    console.log(
      `  stalls over ${STALL_MS} ms: ${stalls.length}, ${
        stalls.reduce((s, [, l]) => s + l, 0).toFixed(0)
      } ms in all`,
    );
    const kinds = new Map<string, { n: number; ms: number }>();
    const heldBy = new Map<string, number>();
    const duringAll = new Map<string, number>();
    const onCpuWhat = new Map<string, number>();
    let totals: States | undefined;
    for (const [start, len] of stalls) {
      const from = toMono(start), to = toMono(start + len);
      if (!tl) continue;
      const segs = tl.threads.get(serverTid);
      const st = statesIn(segs, from, to);
      totals = add(totals, st);
      const kind = stallKind(st);
      const k = kinds.get(kind) ?? { n: 0, ms: 0 };
      k.n++, k.ms += len;
      kinds.set(kind, k);
      const waiting: Segment[] = (segs ?? []).filter((s) => s.state === "runnable");
      const held = cpuByRole(tl.cpus, from, to, role, waiting);
      for (const [r, ms] of held) heldBy.set(r, (heldBy.get(r) ?? 0) + ms);
      const all = cpuByRole(tl.cpus, from, to, role);
      for (const [r, ms] of all) duringAll.set(r, (duringAll.get(r) ?? 0) + ms);
      const inGap = samples.filter(([t]) => t >= from && t < to).map(([, l]) => l);
      const top = new Map<string, number>();
      for (const l of inGap) top.set(l, (top.get(l) ?? 0) + 1);
      if (kind === "on-CPU") { for (const [l, n] of top) onCpuWhat.set(l, (onCpuWhat.get(l) ?? 0) + n); }
      if (detail) {
        // While it was blocked: what the SQLite writer did, and who woke the server thread.
        const sq = sqliteTid ? statesIn(tl.threads.get(sqliteTid), from, to) : undefined;
        const wakers = wakeupsOf(events, serverTid, from, to).map(({ by }) =>
          role(by, tl!.comms.get(by) ?? "")
        );
        const blockedNote = st.sleeping + st.disk > 1
          ? `; SQLite writer ${sq ? showStates(sq) : "-"}; woken by ${[...new Set(wakers)].join(", ") || "-"}`
          : "";
        const list = (m: Map<string, number>) =>
          [...m].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([r, ms]) => `${r} ${ms.toFixed(1)}`).join(", ");
        console.log(
          `    +${(start - a.windows[0][0]).toFixed(0)} ms, ${len.toFixed(1)} ms: ${kind} (run ${
            fmt(st.running)
          }, wait ${fmt(st.runnable)}, blocked ${fmt(st.sleeping + st.disk)}); CPUs held while it waited: ${
            list(held)
          }${blockedNote}${
            inGap.length
              ? `; samples: ${
                [...top].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([l, n]) =>
                  `${l} ×${n}`
                ).join(", ")
              }`
              : ""
          }`,
        );
      }
    }
    if (tl) {
      console.log(
        `  by kind: ${
          [...kinds].map(([k, v]) => `${k} ${v.n} (${v.ms.toFixed(0)} ms)`).join(", ")
        }; the server thread in them (ms): ` +
          showStates(totals),
      );
      const sorted = (m: Map<string, number>) =>
        [...m].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([r, ms]) => `${r} ${ms.toFixed(1)}`).join(", ");
      console.log(`  CPUs while the server thread waited for one (ms): ${sorted(heldBy)}`);
      console.log(`  CPU time of every thread during the stalls (ms): ${sorted(duringAll)}`);
      if (onCpuWhat.size) console.log(`  profile samples in on-CPU stalls: ${sorted(onCpuWhat)}`);
      // Over the whole API slices, not only the stalls: who had the CPUs while the server thread waited for one.
      const waits = (tl.threads.get(serverTid) ?? []).filter((x) => x.state === "runnable");
      const wholeHeld = new Map<string, number>();
      for (const [x, y] of a.windows) {
        for (const [r, ms] of cpuByRole(tl.cpus, toMono(x), toMono(y), role, waits)) {
          wholeHeld.set(r, (wholeHeld.get(r) ?? 0) + ms);
        }
      }
      console.log(
        `  whole slices, CPUs while the server thread waited for one (ms, 2 CPUs): ${sorted(wholeHeld)}`,
      );
      // Each wait for a CPU of the server thread and of the SQLite writer in the slices: how long,
      // and how much of it another CPU sat idle (the thread queued behind a busy CPU, not moved).
      for (const [name, tid] of [["server thread", serverTid], ["SQLite writer", sqliteTid]] as const) {
        if (tid === undefined) continue;
        const buckets = [0.1, 1, 4, Infinity].map((upTo) => ({
          upTo,
          n: 0,
          ms: 0,
          idleMs: 0,
          ownIdle: 0,
          ownBusy: 0,
          otherIdle: 0,
        }));
        for (const w of (tl.threads.get(tid) ?? []).filter((x) => x.state === "runnable")) {
          if (!a.windows.some(([x, y]) => w.to > toMono(x) && w.from < toMono(y))) continue;
          const len = w.to - w.from;
          const b = buckets.find((k) => len <= k.upTo)!;
          b.n++, b.ms += len;
          b.idleMs += Math.min(len, cpuByRole(tl.cpus, w.from, w.to, role).get("(a CPU idle)") ?? 0);
          const p = waitPlacement(tl.cpus, tid, w);
          b.ownIdle += p.ownIdle, b.ownBusy += p.ownBusy, b.otherIdle += Math.min(p.otherIdle, p.ownBusy);
        }
        console.log(
          `  ${name}'s waits for a CPU: ${
            buckets.map((b) =>
              `≤ ${b.upTo === Infinity ? "∞" : b.upTo} ms: ${b.n} (${b.ms.toFixed(1)} ms, a CPU idle ${
                b.idleMs.toFixed(1)
              }; the CPU it ran on: idle ${b.ownIdle.toFixed(1)}, busy ${
                b.ownBusy.toFixed(1)
              }, and meanwhile the other CPU idle ${b.otherIdle.toFixed(1)})`
            ).join("; ")
          }`,
        );
        // Who ran on the CPU the thread was queued on (the one it then ran on), over those waits.
        const queuedBehind = new Map<string, number>();
        for (const w of (tl.threads.get(tid) ?? []).filter((x) => x.state === "runnable")) {
          if (!a.windows.some(([x, y]) => w.to > toMono(x) && w.from < toMono(y))) continue;
          const cpu = waitPlacement(tl.cpus, tid, w).cpu;
          const segs = tl.cpus.get(cpu);
          if (!segs) continue;
          for (const [r, ms] of cpuByRole(new Map([[cpu, segs]]), w.from, w.to, role)) {
            queuedBehind.set(r, (queuedBehind.get(r) ?? 0) + ms);
          }
        }
        console.log(`    ${name} queued behind (ms): ${sorted(queuedBehind)}`);
      }
      // The creates over 10 ms: each part of their time, and what the thread doing that part was doing.
      const slow = a.stamps.filter((x) => x.total > 10);
      let before: States | undefined, inServer: States | undefined, inSqlite: States | undefined;
      let afterClient: States | undefined, afterServer: States | undefined;
      let sums = [0, 0, 0];
      for (const x of slow) {
        sums = [sums[0] + x.start - x.sent, sums[1] + x.end - x.start, sums[2] + x.done - x.end];
        const sv = tl.threads.get(serverTid);
        before = add(before, statesIn(sv, toMono(x.sent), toMono(x.start)));
        inServer = add(inServer, statesIn(sv, toMono(x.start), toMono(x.end)));
        if (sqliteTid) {
          inSqlite = add(inSqlite, statesIn(tl.threads.get(sqliteTid), toMono(x.start), toMono(x.end)));
        }
        afterClient = add(afterClient, statesIn(tl.threads.get(clientTid), toMono(x.end), toMono(x.done)));
        afterServer = add(afterServer, statesIn(sv, toMono(x.end), toMono(x.done)));
      }
      console.log(
        `  creates over 10 ms: ${slow.length}; summed, before the handler ${sums[0].toFixed(0)} ms, in it ${
          sums[1].toFixed(0)
        } ms, after it ${sums[2].toFixed(0)} ms`,
      );
      if (slow.length) {
        console.log(`    before the handler, the server thread: ${showStates(before)}`);
        console.log(`    in the handler, the server thread: ${showStates(inServer)}`);
        console.log(`    in the handler, the SQLite writer (tid ${sqliteTid}): ${showStates(inSqlite)}`);
        console.log(
          `    after the handler, the client worker: ${showStates(afterClient)}; the server thread: ${
            showStates(afterServer)
          }`,
        );
      }
    }
    summary[arm] = {
      p50: Number(fmt(percentile(a.latencies, 50))),
      p99: Number(fmt(percentile(a.latencies, 99))),
      serverP99: Number(fmt(percentile(handler, 99))),
      beforeP99: Number(fmt(percentile(beforeH, 99))),
      afterP99: Number(fmt(percentile(afterH, 99))),
      stalls: stalls.length,
      stallMs: Math.round(stalls.reduce((s, [, l]) => s + l, 0)),
      kinds: Object.fromEntries([...kinds].map(([k, v]) => [k, v.n])),
      serverRunMs: Number(fmt(a.sched.get("server thread")?.run ?? 0)),
      serverWaitMs: Number(fmt(a.sched.get("server thread")?.delay ?? 0)),
      clientRunMs: Number(fmt(a.sched.get("client worker")?.run ?? 0)),
      clientWaitMs: Number(fmt(a.sched.get("client worker")?.delay ?? 0)),
    };
  }
  console.log(`\nSUMMARY ${JSON.stringify(summary)}`);
} finally {
  if (perf) {
    try {
      perf.kill("SIGINT");
    } catch { /* it has exited */ }
    await perf.output();
  }
  await Promise.all([apiLoad.close(), rawLoad.close()]);
  await cp.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
