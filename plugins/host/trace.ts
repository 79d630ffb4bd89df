/**
 * Start-up tracing: with `SKIFF_TRACE_STARTUP=1` in the environment, each step of a pod's start
 * (and each runner call and nested host call) prints one line to stderr,
 * `TRACE <epoch ms, µs precision> <step> <detail>`, comparable across the processes of one
 * machine. Off by default (one boolean test per step). A plugin runner has no env permission:
 * its host turns tracing on through the runner's config ({@linkcode startTracing}) and copies the
 * runner's trace lines from the runner's stderr to its own. docs/benchmarks.md ("Where the time
 * goes") shows how the container start-up breakdown is made from these lines.
 * @module
 */

let on = false;
try {
  on = Deno.env.get("SKIFF_TRACE_STARTUP") === "1";
} catch { /* no env permission: off */ }

/** Whether tracing is on. */
export let tracing: boolean = on;

/** Turns tracing on in a process that cannot read the environment (a plugin runner). */
export function startTracing(): void {
  tracing = on = true;
}

/** The trace clock: epoch ms, comparable across the processes of the machine. */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Prints one trace line when tracing is on (`at`: when it happened, default now). */
export function trace(step: string, detail = "", at?: number): void {
  if (!on) return;
  console.error(`TRACE ${(at ?? traceNow()).toFixed(3)} ${step} ${detail}`);
}
