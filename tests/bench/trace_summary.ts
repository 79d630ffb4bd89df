/**
 * Summarizes the start-up trace of a container benchmark run (`SKIFF_TRACE_STARTUP=1`, see
 * plugins/host/trace.ts): for each pod the bench created one after another (`post>` … `ready-seen`
 * of the same name), the time between the steps below; prints their medians as a Markdown table,
 * one column per trace file, and the runner calls per pod; then the runtime Plugin's calls on the
 * critical path split into their parts ({@linkcode callParts}) from the runners' own trace lines.
 *
 * ```sh
 * SKIFF_TRACE_STARTUP=1 SKIFF_BENCH_CTR_DENSITY=55 deno run -A tests/bench/containers.ts 2> trace.txt
 * deno run -A tests/bench/trace_summary.ts trace.txt [more.txt …]
 * ```
 * @module
 */
import { percentile } from "./bench_row.ts";

interface TraceLine {
  at: number;
  step: string;
  detail: string;
}

/** `[label, from, to]`; `step:prefix` matches a step whose detail starts with `prefix`. */
export const STEPS: [string, string, string][] = [
  ["`POST` of the pod", "post>", "post<"],
  ["scheduler, binding, watch to the node, informer", "post<", "kubelet-sees"],
  ["runtime status read before the sync", "sync>", "sandbox>"],
  ["`ip netns add`", "sandbox>", "netns-added"],
  ["bridge ADD (IPAM + host-net calls)", "netns-added", "network-added"],
  ["pod files with the IP", "network-added", "pod-files-done"],
  [
    "sandbox until the plugin's record (namespaces, files, `run-pod-sandbox`)",
    "sandbox>",
    "sandbox-recorded",
  ],
  ["status read, image, container config", "call<:crun.runPodSandbox", "image-config-done"],
  ["plugin `create-container` (until conmon started)", "image-config-done", "conmon-returned"],
  ["  `resolve-image`", "host>:node-images.resolve-image", "host<:node-images.resolve-image"],
  ["  `prepare-bundle`", "host>:node-images.prepare-bundle", "host<:node-images.prepare-bundle"],
  ["  conmon started", "host>:host-process.exec conmon", "host<:host-process.exec"],
  ["conmon → `crun create` until crun's pid file", "conmon-returned", "pidfile-seen"],
  // The start is asked for once conmon runs (the create answers then); it waits for crun's create
  // and for the network.
  [
    "the network set up after crun's pid file (pods where it came later)",
    "pidfile-seen",
    "network-added",
  ],
  ["plugin `start-container` (asked for while crun creates)", "created", "started"],
  ["crun's pid file until the start's answer", "pidfile-seen", "started"],
  ["  `crun start`", "host>:host-process.exec crun start", "host<:host-process.exec"],
  ["  `write-exec-fifo` (the node's start)", "host>:node-images.write-exec-fifo", "host<:node-images.write-exec-fifo"],
  ["runtime status read after the sync", "started", "status-put>"],
  ["status `PUT`", "status-put>", "status-put<"],
  ["watch event to the client", "status-put<", "ready-seen"],
  ["total", "post>", "ready-seen"],
];

/** The trace lines of a stderr capture, in time order. Pure. */
export function parseTrace(text: string): TraceLine[] {
  const out: TraceLine[] = [];
  for (const line of text.split("\n")) {
    const m = /^TRACE (\d+(?:\.\d+)?) (\S+) ?(.*)$/.exec(line);
    if (m) out.push({ at: Number(m[1]), step: m[2], detail: m[3] });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Steps that name the pod they belong to (the others are matched by time only). */
const PER_POD = new Set([
  "post>",
  "post<",
  "kubelet-sees",
  "sync>",
  "sandbox>",
  "status-put>",
  "status-put<",
  "ready-seen",
]);

function matches(e: TraceLine, spec: string, pod: string): boolean {
  const i = spec.indexOf(":");
  if (i > 0) return e.step === spec.slice(0, i) && e.detail.startsWith(spec.slice(i + 1));
  return e.step === spec && (!PER_POD.has(spec) || e.detail === pod);
}

/** Per step, the durations over every pod of the trace; and runner calls per pod. Pure. */
export function stepDurations(lines: TraceLine[]): { steps: Map<string, number[]>; callsPerPod: number } {
  const steps = new Map<string, number[]>(STEPS.map(([label]) => [label, []]));
  let pods = 0, calls = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].step !== "post>") continue;
    const pod = lines[i].detail;
    const end = lines.findIndex((e, j) => j > i && e.step === "ready-seen" && e.detail === pod);
    if (end < 0) continue;
    const window = lines.slice(i, end + 1);
    pods++;
    calls += window.filter((e) => e.step === "call>").length;
    for (const [label, from, to] of STEPS) {
      const a = window.findIndex((e) => matches(e, from, pod));
      if (a < 0) continue;
      const b = window.findIndex((e, j) => j > a && matches(e, to, pod));
      if (b >= 0) steps.get(label)!.push(window[b].at - window[a].at);
    }
  }
  return { steps, callsPerPod: pods ? calls / pods : 0 };
}

/** The parts of one runner call (ms), from the agent's and the runner's trace lines. */
export const CALL_PARTS: [key: string, label: string][] = [
  ["total", "the call, as the agent sees it"],
  ["in", "pipe to the runner (`call>` until the runner read it)"],
  ["parse", "the runner: parse and dispatch (until the guest is entered)"],
  ["guest", "the guest's own time (entered → returned, less host calls and saves)"],
  ["guestCpu", "  of which CPU (the runner process)"],
  ["hostWait", "host calls as the guest waits for them"],
  ["hostWork", "  of which the agent's work (`host>` → `host<`)"],
  ["hostPipe", "  of which pipes and wake-ups, both ways"],
  ["save", "state file saves"],
  ["answer", "the runner: save and answer (returned → answer written)"],
  ["out", "pipe to the agent (answer written → `call<`)"],
  ["stateOps", "state store operations (count)"],
];

/**
 * Each runner call's parts, by `plugin.op` (`plugin.op (queued)` for calls sent while the runner
 * served another one; only calls whose runner printed its own lines:
 * `call-read` … `answer-sent`). A runner serves one call at a time, so a call's runner lines are
 * its plugin's from its `call-read` to its `answer-sent`. Two processes' clocks can disagree by
 * a few tenths of a millisecond (a runner's `call-read` was seen up to 0.16 ms before the
 * agent's `call>`): the runner's lines are looked for from 1 ms before `call>` to 1 ms after
 * `call<`, and a leg that comes out negative counts as 0. Pure.
 */
export function callParts(lines: TraceLine[]): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  const open = new Map<string, number>();
  const SLACK = 1;
  for (let i = 0; i < lines.length; i++) {
    const e = lines[i];
    if (e.step === "call>") open.set(e.detail, i);
    if (e.step !== "call<" || !open.has(e.detail)) continue;
    let a = open.get(e.detail)!;
    const call = lines[a];
    open.delete(e.detail);
    const what = e.detail;
    const plugin = what.slice(0, what.indexOf("."));
    while (a > 0 && lines[a - 1].at >= call.at - SLACK) a--;
    let b = i;
    while (b + 1 < lines.length && lines[b + 1].at <= e.at + SLACK) b++;
    const near = lines.slice(a, b + 1);
    const r = near.findIndex((x) => x.step === "call-read" && x.detail === what && x.at >= call.at - SLACK);
    const s = r < 0 ? -1 : near.findIndex((x, m) => m > r && x.step === "answer-sent" && x.detail === what);
    if (s < 0) continue;
    const w = near.slice(r, s + 1);
    const mine = (x: TraceLine) =>
      x.detail === what || x.detail.startsWith(`${what} `) || x.detail === plugin || x.detail.startsWith(`${plugin} `);
    const at = (step: string) => w.find((x) => x.step === step && mine(x))?.at;
    const read = w[0].at, entered = at("guest>"), returned = at("guest<"), sent = w[w.length - 1].at;
    if (entered === undefined || returned === undefined) continue;
    const cpu = Number(/cpu=([\d.]+)/.exec(w.find((x) => x.step === "guest<" && mine(x))!.detail)?.[1] ?? NaN);
    const spans = (from: string, to: string, until = Infinity) => {
      let sum = 0;
      for (let j = 0; j < w.length; j++) {
        if (w[j].step !== from || !mine(w[j]) || w[j].at > until) continue;
        const k = w.findIndex((x, m) => m > j && x.step === to && mine(x));
        if (k >= 0) sum += w[k].at - w[j].at;
      }
      return sum;
    };
    const hostWait = spans("rhost>", "rhost<");
    // The agent's host lines name no plugin: each of this call's waits holds its own.
    let hostWork = 0;
    for (let j = 0; j < w.length; j++) {
      if (w[j].step !== "rhost>" || !mine(w[j])) continue;
      const fn = w[j].detail.slice(plugin.length + 1);
      const end = w.findIndex((x, m) => m > j && x.step === "rhost<" && mine(x));
      if (end < 0) continue;
      const h = w.findIndex((x, m) => m > j && m < end && x.step === "host>" && x.detail.startsWith(fn));
      const g = h < 0 ? -1 : w.findIndex((x, m) => m > h && m < end && x.step === "host<" && fn.startsWith(x.detail));
      if (g >= 0) hostWork += w[g].at - w[h].at;
    }
    const saveIn = spans("state-save>", "state-save<", returned);
    const parts: Record<string, number> = {
      total: e.at - call.at,
      in: Math.max(0, read - call.at),
      parse: entered - read,
      guest: returned - entered - hostWait - saveIn,
      guestCpu: cpu,
      hostWait,
      hostWork,
      hostPipe: hostWait - hostWork,
      save: spans("state-save>", "state-save<"),
      answer: sent - returned,
      out: Math.max(0, e.at - sent),
      stateOps: w.filter((x) => x.step.startsWith("state-") && !x.step.startsWith("state-save") && mine(x)).length,
    };
    // A call sent while its runner still served another one waited for it: counted apart.
    const queued = near.slice(0, r).some((x) =>
      x.step === "answer-sent" && x.at > call.at && x.detail !== what && x.detail.startsWith(`${plugin}.`)
    );
    const key = queued ? `${what} (queued)` : what;
    const m = out.get(key) ?? new Map(CALL_PARTS.map(([k]) => [k, [] as number[]]));
    for (const [k] of CALL_PARTS) if (Number.isFinite(parts[k])) m.get(k)!.push(parts[k]);
    out.set(key, m);
  }
  return out;
}

/** The runtime Plugin's calls on a container pod's critical path. */
const CRITICAL_CALLS = [
  "crun.runPodSandbox",
  "crun.createContainer",
  "crun.runPodSandbox (queued)",
  "crun.startContainer",
];

if (import.meta.main) {
  const files = Deno.args;
  if (!files.length) {
    console.error("usage: deno run -A tests/bench/trace_summary.ts TRACE_FILE...");
    Deno.exit(2);
  }
  const runs = files.map((f) => stepDurations(parseTrace(Deno.readTextFileSync(f))));
  const cell = (xs: number[]) => xs.length ? percentile(xs, 50).toFixed(1) : "—";
  console.log(`| step (median ms) | ${files.join(" | ")} |`);
  console.log(`|---|${files.map(() => "---").join("|")}|`);
  for (const [label] of STEPS) {
    console.log(`| ${label} | ${runs.map((r) => cell(r.steps.get(label)!)).join(" | ")} |`);
  }
  console.log(`| runner calls per pod | ${runs.map((r) => r.callsPerPod.toFixed(1)).join(" | ")} |`);
  const splits = files.map((f) => callParts(parseTrace(Deno.readTextFileSync(f))));
  if (splits.some((s) => s.size)) {
    console.log(`\n| runner call, part (median ms; calls) | ${files.join(" | ")} |`);
    console.log(`|---|${files.map(() => "---").join("|")}|`);
    for (const call of CRITICAL_CALLS) {
      if (!splits.some((s) => s.has(call))) continue;
      for (const [k, label] of CALL_PARTS) {
        const cells = splits.map((s) => {
          const xs = s.get(call)?.get(k) ?? [];
          return k === "total" ? `${cell(xs)} (${xs.length})` : cell(xs);
        });
        console.log(`| ${k === "total" ? `\`${call}\`` : ""} ${label} | ${cells.join(" | ")} |`);
      }
    }
  }
}
