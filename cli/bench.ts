/**
 * `./skiff bench`: the benchmark suite, `tests/bench/main.ts` (what `deno task bench` runs).
 *
 * It runs the entry point directly rather than through `deno task`: with a package.json beside
 * deno.json, `deno task` resolves a task's `deno` to `node_modules/.bin/deno` and tries to run that
 * native binary as a JavaScript file.
 * @module
 */
import type { Command } from "./args.ts";
import { runForwardingSignals } from "./child.ts";
import { CliError } from "./errors.ts";
import { TEST_PACKAGES } from "./test.ts";

/** The benchmark suite's entry point, relative to the repository. */
export const BENCH_MAIN = "tests/bench/main.ts";

/** `./skiff bench`. */
export const benchCommand: Command = {
  name: "bench",
  summary: "Run the benchmark suite (tests/bench/main.ts); it prints ratios against a raw baseline.",
  usage: "[BENCH ARGS...]",
  flags: [],
  args: "passthrough",
  /** The benchmarks drive what the end-to-end tests do: the registry, crun, conmon, wrk, ... */
  packages: TEST_PACKAGES,
  async run({ root, args }) {
    try {
      await Deno.stat(`${root}/${BENCH_MAIN}`);
    } catch {
      throw new CliError(`this build has no benchmark suite yet (${BENCH_MAIN} is missing)`);
    }
    const denoArgs = ["run", "-A", "--config", `${root}/deno.json`, `${root}/${BENCH_MAIN}`, ...args];
    return await runForwardingSignals(Deno.execPath(), denoArgs, { cwd: root, env: { SKIFF_ROOT: root } });
  },
};
