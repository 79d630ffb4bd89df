/**
 * Summarizes the start-up trace of a container benchmark run (`SKIFF_TRACE_STARTUP=1`, see
 * plugins/host/trace.ts): for each pod the bench created one after another (`post>` … `ready-seen`
 * of the same name), the time between the steps below; prints their medians as a Markdown table,
 * one column per trace file, and the runner calls per pod.
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
  ["crun's pid file until the network is set up (0 when it was first)", "pidfile-seen", "created"],
  ["plugin `start-container`", "created", "started"],
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
}
