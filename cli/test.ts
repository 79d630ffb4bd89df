/**
 * `./skiff test`: the whole test suite, `deno test -A` over every top-level code folder, from any
 * working directory. Paths and `deno test` flags pass through: `./skiff test control/store`,
 * `./skiff test --filter lock`, `./skiff test -- args for the tests`.
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { Command } from "./args.ts";
import { runForwardingSignals } from "./child.ts";

/** The folders `./skiff test` covers, in order; missing ones are skipped. */
export const TEST_DIRS = ["tests", "control", "node", "wasm", "plugins", "cli"];

/** What the end-to-end tests (and the benchmarks) drive: a real OCI registry, the C-to-Wasm toolchain, a
 * load generator, crun and conmon. */
export const TEST_PACKAGES = [
  "docker-registry",
  "clang",
  "lld",
  "wasi-libc",
  "libclang-rt-14-dev-wasm32",
  "wrk",
  "openssl",
  "iproute2",
  "nftables",
  "curl",
  "busybox-static",
  "crun",
  "conmon",
  "containernetworking-plugins",
];

/** `deno test` flags whose value may follow as the next argument. */
const VALUE_FLAGS = new Set(["--filter", "--reporter", "--junit-path", "--seed", "--location", "--v8-flags"]);

/** Where `./skiff test` runs and what it passes to `deno test`. */
export interface TestInvocation {
  cwd: string;
  /** Arguments after the Deno executable. */
  args: string[];
}

/**
 * Builds the `deno test` command line. Path arguments resolve against `cwd` first, then against
 * `root`; without any, every existing folder of {@linkcode TEST_DIRS} is tested.
 */
export function testInvocation(
  opts: { root: string; cwd: string; args: readonly string[]; exists(path: string): boolean },
): TestInvocation {
  const { root, cwd, args } = opts;
  const flags: string[] = [];
  const paths: string[] = [];
  let scriptArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      scriptArgs = args.slice(i);
      break;
    }
    if (arg.startsWith("-")) {
      flags.push(arg);
      if (VALUE_FLAGS.has(arg) && i + 1 < args.length) flags.push(args[++i]);
      continue;
    }
    const inCwd = resolve(cwd, arg);
    const path = opts.exists(inCwd) || isAbsolute(arg) ? inCwd : resolve(root, arg);
    const rel = relative(root, path);
    paths.push(rel === "" ? "." : rel.startsWith("..") ? path : rel);
  }
  if (paths.length === 0) paths.push(...TEST_DIRS.filter((d) => opts.exists(resolve(root, d))));
  return {
    cwd: root,
    args: ["test", "-A", "--config", resolve(root, "deno.json"), ...flags, ...paths, ...scriptArgs],
  };
}

/** `./skiff test`. */
export const testCommand: Command = {
  name: "test",
  summary: `Run the whole test suite (deno test -A over ${TEST_DIRS.join("/ ")}/); exit code is deno's.`,
  description: [
    "Arguments pass through to deno test: paths (relative to the current directory or the repository)",
    "narrow the run, e.g. ./skiff test control/store; flags such as --filter NAME or --fail-fast apply;",
    "arguments after -- go to the tests. Under CI=true, tests whose prerequisites (kubectl, ...) are",
    "missing fail instead of being skipped.",
  ].join("\n"),
  usage: "[PATH...] [DENO TEST FLAGS...] [-- TEST ARGS...]",
  flags: [],
  args: "passthrough",
  packages: TEST_PACKAGES,
  run({ root, cwd, args }) {
    const inv = testInvocation({ root, cwd, args, exists });
    return runForwardingSignals(Deno.execPath(), inv.args, { cwd: inv.cwd, env: { SKIFF_ROOT: root } });
  },
};

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
