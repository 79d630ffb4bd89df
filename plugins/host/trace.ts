/**
 * Start-up tracing: with `SKIFF_TRACE_STARTUP=1` in the environment, each step of a pod's start
 * (and each runner call and nested host call) prints one line to stderr,
 * `TRACE <epoch ms, µs precision> <step> <detail>`, comparable across the processes of one
 * machine. Off by default (one boolean test per step). docs/benchmarks.md ("Where the time goes")
 * shows how the container start-up breakdown is made from these lines.
 * @module
 */

let on = false;
try {
  on = Deno.env.get("SKIFF_TRACE_STARTUP") === "1";
} catch { /* no env permission: off */ }

/** Whether tracing is on. */
export const tracing = on;

/** Prints one trace line when tracing is on. */
export function trace(step: string, detail = ""): void {
  if (!on) return;
  console.error(`TRACE ${(performance.timeOrigin + performance.now()).toFixed(3)} ${step} ${detail}`);
}
