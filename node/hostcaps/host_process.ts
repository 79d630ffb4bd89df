/**
 * The `host-process` capability (`skiff:host/host-process@0.1.0`), performed by the node agent
 * for a runtime plugin's runner (nested host calls): runs one allow-listed binary inside the
 * agent's mount namespace and answers its exit code, stdout and stderr. Bounds, checked here
 * before anything runs:
 *
 * - `allow`: absolute paths of the binaries the plugin may run (no default: an empty list runs
 *   nothing); the binary must be one of them exactly ({@linkcode allowedBinary});
 * - `timeoutSeconds` (default 30, at most 300): the process is killed (SIGKILL) past it, and the
 *   call fails;
 * - arguments and environment are plain strings (no NUL); the environment is the given pairs
 *   plus a fixed `PATH`, nothing of the agent's; stdout and stderr are cut at 1 MiB each.
 *
 * The process's stdout and stderr are read until it exits, then for at most 100 ms more: a
 * daemon it leaves behind (conmon) may keep the pipes open, and the call must not wait for it.
 *
 * The process is started by the namespace's spawner when one is ready (node/mountns/spawner.ts:
 * no `nsenter`, and the agent's thread does not wait in `vfork`), else through `nsenter`.
 * @module
 */
import { runBounded } from "../mountns/run_bounded.ts";
import type { Grant } from "../../control/api/plugins.ts";
import { allowedBinary } from "../../plugins/host/capabilities.ts";
import { hostDenied, hostFailed, type HostFunctions, hostInvalid } from "../../plugins/host/host_calls.ts";
import type { MountNamespace } from "../mountns/mount_ns.ts";

/**
 * Where binaries run: the agent's mount namespace (`MountNamespace.argv`, and its spawner's
 * `spawn` when it has one; `undefined` from `spawn` means "use argv").
 */
export interface ProcessNamespace {
  argv(cmd: string[]): string[];
  spawn?: MountNamespace["spawn"];
}

const MAX_OUTPUT = 1 << 20;
const DRAIN_MS = 100;
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The grant's bounds. Pure. */
export function processBounds(grant: Grant): { allow: string[]; timeoutMs: number } {
  const b = grant.bounds ?? {};
  const allow = Array.isArray(b.allow) ? b.allow.filter((x): x is string => typeof x === "string") : [];
  const t = typeof b.timeoutSeconds === "number" && b.timeoutSeconds > 0
    ? Math.min(b.timeoutSeconds, 300)
    : 30;
  return { allow, timeoutMs: t * 1000 };
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x.includes("\0"))) {
    throw hostInvalid(`${what} must be strings without NUL`);
  }
  return v as string[];
}

/** The capability's functions for one grant. */
export function hostProcess(grant: Grant, ns: ProcessNamespace): HostFunctions {
  const { allow, timeoutMs } = processBounds(grant);
  return {
    async exec(args) {
      const [binary, argv, env, stdin] = args as [unknown, unknown, unknown, unknown];
      if (typeof binary !== "string" || !allowedBinary(allow, binary)) {
        throw hostDenied(
          `${JSON.stringify(binary)} is not an allowed binary (host-process allow: ${
            allow.join(", ") || "none"
          })`,
        );
      }
      const words = strings(argv, "arguments");
      if (!Array.isArray(env) || env.some((p) => !Array.isArray(p) || p.length !== 2)) {
        throw hostInvalid("env must be a list of pairs");
      }
      const pairs = (env as unknown[][]).map(([k, v]) => strings([k, v], "env"));
      const input = stdin instanceof Uint8Array ? stdin : new Uint8Array();
      const environment = { PATH, ...Object.fromEntries(pairs) };
      const cmd = {
        argv: [binary, ...words],
        env: environment,
        clearEnv: true,
        stdin: input,
        timeoutMs,
        drainMs: DRAIN_MS,
        maxOutput: MAX_OUTPUT,
      };
      let r;
      try {
        // By the spawner when one is ready, else through `nsenter`.
        r = await ns.spawn?.(cmd) ?? await runBounded({ ...cmd, argv: ns.argv(cmd.argv) });
      } catch (e) {
        throw hostFailed(`could not run ${binary}: ${(e as Error).message}`);
      }
      if (r.timedOut) throw hostFailed(`${binary} ran past its ${timeoutMs / 1000}s timeout and was killed`);
      return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  };
}
