/**
 * The command line of a sandbox process: `deno run` with the narrowest permissions that run the
 * containers — read on the component cache and the pods' volume directories, write on the
 * writable volumes only, network on the given addresses, no env, run, ffi or sys — and a V8 heap
 * limit. Pure.
 * @module
 */

/** What a sandbox may touch. */
export interface SandboxPermissions {
  /** Directories readable by the sandbox (the component cache, the pods' volume roots). */
  read: readonly string[];
  /** Directories writable by the sandbox (the writable volumes' roots). */
  write?: readonly string[];
  /**
   * Network: `none`; `all` (when the sandbox runs in its own network namespace, whose
   * boundaries do the work); or hosts/IPs, with optional ports (`198.18.0.7`, `198.19.0.10:80`).
   */
  net: "none" | "all" | readonly string[];
}

/** Options of {@linkcode sandboxArgs}. */
export interface SandboxArgsOptions {
  /** Absolute path of `wasm/sandbox/main.ts`. */
  entry: string;
  permissions: SandboxPermissions;
  /** Limit of the V8 heap (old space), in MiB; exceeding it kills the sandbox. */
  heapLimitMiB?: number;
  /** Unresponsive-guest deadline (0: no watchdog). */
  deadlineMs: number;
  /** Write a V8 CPU profile of the sandbox into this directory when it exits (benchmarks). */
  cpuProfileDir?: string;
}

function list(flag: string, values: readonly string[]): string[] {
  const unique = [...new Set(values.filter(Boolean))];
  if (unique.some((v) => v.includes(","))) {
    throw new TypeError(`A ${flag} path contains a comma: ${unique.join(" ")}`);
  }
  return unique.length ? [`${flag}=${unique.join(",")}`] : [];
}

/** The arguments after the Deno executable. */
export function sandboxArgs(opts: SandboxArgsOptions): string[] {
  const p = opts.permissions;
  const net = p.net === "all" ? ["--allow-net"] : p.net === "none" ? [] : list("--allow-net", p.net);
  return [
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--no-remote",
    ...list("--allow-read", [...p.read, ...(p.write ?? [])]),
    ...list("--allow-write", p.write ?? []),
    ...net,
    // `gc()` lets the sandbox return the linear memory of reclaimed idle instances at once
    // (guests cannot reach it: they see only their imports).
    `--v8-flags=${
      [
        "--expose-gc",
        ...(opts.heapLimitMiB ? [`--max-old-space-size=${Math.max(16, Math.round(opts.heapLimitMiB))}`] : []),
      ]
        .join(",")
    }`,
    ...(opts.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfileDir}`] : []),
    opts.entry,
    JSON.stringify({ deadlineMs: opts.deadlineMs }),
  ];
}
