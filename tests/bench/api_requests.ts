/**
 * The API requests a container pod start makes, by verb and resource, with the server's own time
 * for each (from the filters' entry to the response object; a watch's stream not included).
 *
 * Runs the container benchmark (`tests/bench/containers.ts`) in this process with the API
 * server's `RequestFilters.serve` wrapped, and prints, for the start-up phase (from the binding
 * of the first start-up pod `s-0` to that of the last one), the requests per pod start and the
 * server's median time per request:
 *
 * ```sh
 * SKIFF_BENCH_CTR_DENSITY=0 deno run -A --config deno.json tests/bench/api_requests.ts
 * ```
 * @module
 */
import { RequestFilters } from "../../control/apiserver/auth/filters.ts";
import { percentile, table } from "./bench_row.ts";
import { threadCpu } from "./api_threads.ts";

/** `POST pods`, `PUT pods/status`, `POST events`, … from a method and path. Pure. */
export function requestKind(method: string, path: string, search: string): string {
  const parts = path.split("/").filter(Boolean);
  // /api/v1/… or /apis/<group>/<version>/…
  const rest = parts[0] === "api" ? parts.slice(2) : parts[0] === "apis" ? parts.slice(3) : null;
  if (!rest) return `${method} ${path}`;
  const r = rest[0] === "namespaces" && rest.length > 2 ? rest.slice(2) : rest;
  const resource = r[0] ?? "";
  const sub = r[2] ? `/${r[2]}` : "";
  const watch = /(^|&|\?)watch=(1|true)/.test(search) ? " (watch)" : "";
  const verb = method === "GET" && !r[1] ? (watch ? "WATCH" : "LIST") : method;
  return `${verb} ${resource}${sub}${r[1] && !sub ? " (one)" : ""}`;
}

interface Seen {
  kind: string;
  agent: string;
  at: number;
  ms: number;
}

const last = String(Number(Deno.env.get("SKIFF_BENCH_CTR_STARTUP") ?? 50) - 1);
let threadsAtFirst = new Map<string, number>(), threadsAtLast = new Map<string, number>();
const seen: Seen[] = [];
let firstPod = Infinity, lastPod = Infinity;
const serve = RequestFilters.prototype.serve;
RequestFilters.prototype.serve = async function (req, arrival) {
  const t0 = performance.now();
  const url = new URL(req.url);
  const kind = requestKind(req.method, url.pathname, url.search);
  const res = await serve.call(this, req, arrival);
  // Each start has one binding: those of s-0 and of the last pod bound the phase.
  const bound = /\/pods\/s-(\d+)\/binding$/.exec(url.pathname);
  if (bound) {
    if (bound[1] === "0") firstPod = t0, threadsAtFirst = threadCpu();
    if (bound[1] === last) threadsAtLast = threadCpu();
    lastPod = t0;
  }
  seen.push({ kind, agent: (req.headers.get("user-agent") ?? "").split("/")[0], at: t0, ms: performance.now() - t0 });
  return res;
};
const { benchContainers } = await import("./containers.ts");
console.log(table(await benchContainers()));
const pods = Number(Deno.env.get("SKIFF_BENCH_CTR_STARTUP") ?? 50) - 1;
const inPhase = seen.filter((s) => s.at >= firstPod && s.at < lastPod);
const byKind = new Map<string, Seen[]>();
for (const s of inPhase) {
  const k = `${s.kind} [${s.agent}]`;
  byKind.set(k, [...(byKind.get(k) ?? []), s]);
}
console.log(`\nAPI requests per pod start (${pods} starts, s-0 … s-${pods - 1}):\n`);
console.log("| request [user agent] | per pod | server ms p50 | p90 |");
console.log("|---|---|---|---|");
for (const [k, list] of [...byKind].sort((a, b) => b[1].length - a[1].length)) {
  const ms = list.map((s) => s.ms);
  console.log(
    `| ${k} | ${(list.length / pods).toFixed(2)} | ${percentile(ms, 50).toFixed(2)} | ${percentile(ms, 90).toFixed(2)} |`,
  );
}
console.log(`| total | ${(inPhase.length / pods).toFixed(2)} | | |`);
console.log(`\nCPU per pod start by thread of this process (ms):\n`);
for (const [name, end] of [...threadsAtLast].sort((a, b) => b[1] - a[1])) {
  const ms = ((end - (threadsAtFirst.get(name) ?? 0)) * 1000) / pods;
  if (ms > 0) console.log(`- ${name}: ${ms.toFixed(2)}`);
}
// For cutting a `--cpu-prof` profile of this process to the phase (performance.now() values).
console.log(`\nphase (performance.now() ms): ${firstPod.toFixed(1)} ${lastPod.toFixed(1)}; now ${performance.now().toFixed(1)}`);
