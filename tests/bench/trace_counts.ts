/**
 * Counts, per pod start, what the node agent did in the start-up phase of a containers benchmark
 * trace (`SKIFF_TRACE_STARTUP=1`, and `SKIFF_TRACE_API=1` for the API lines, node/agent.ts): its
 * API requests by verb and path kind, the watch events it read, its pod syncs, the runner calls
 * and the nested host calls. The window runs from the first pod's `post>` to the last pod's
 * `ready-seen` (tests/bench/cpu_profile.ts).
 *
 * ```sh
 * deno run -A tests/bench/trace_counts.ts trace.txt
 * ```
 * @module
 */
import { parseTrace } from "./trace_summary.ts";
import { startupWindow } from "./cpu_profile.ts";

/** A request's path with names, namespaces and UIDs made generic (`/api/v1/namespaces/<ns>/pods/<name>` becomes `…/namespaces/\*\/pods/\*`). Pure. */
export function pathKind(path: string): string {
  const p = path.split("?")[0].split("/");
  let r = p[1] === "apis" ? 4 : 3; // the resource's index after /api/v1 or /apis/<group>/<version>
  if (p[r] === "namespaces" && p.length > r + 2) {
    p[r + 1] = "*";
    r += 2;
  }
  if (p.length > r + 1) p[r + 1] = "*";
  return p.join("/");
}

/** Counts per op of the lines in [`from`, `to`], by `step detail` (detail made generic). Pure. */
export function countSteps(text: string, from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of parseTrace(text)) {
    if (l.at < from || l.at > to) continue;
    let key: string;
    if (l.step === "api>") {
      const [method, path] = l.detail.split(" ");
      key = `API ${method} ${pathKind(path)}`;
    } else if (l.step === "api-watch-event") key = `watch event ${pathKind(l.detail)}`;
    else if (l.step === "call>") key = `runner call ${l.detail}`;
    else if (l.step === "host>") key = `host call ${l.detail.replace(/ [0-9a-f]{8}-.*$/, "")}`;
    else if (l.step === "sync>") key = "kubelet sync";
    else continue;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

if (import.meta.main) {
  const text = await Deno.readTextFile(Deno.args[0]);
  const w = startupWindow(text);
  const counts = countSteps(text, w.from, w.to);
  console.log(`per pod start (${w.pods} pods):`);
  for (const [k, n] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`${(n / w.pods).toFixed(2).padStart(7)}  ${k}`);
  }
}
