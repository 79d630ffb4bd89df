/**
 * Container lifecycle hooks (`lifecycle.postStart`, `lifecycle.preStop`), run as upstream's
 * handler runner (`pkg/kubelet/lifecycle/handlers.go`) runs them:
 *
 * - `exec`: the command in the container, through the runtime (no timeout of its own); a non-zero
 *   exit fails the hook;
 * - `httpGet`: a GET to the hook's host (default: the pod IP), port and path; only a transport
 *   error fails it: any HTTP status is an answer;
 * - `sleep`: waits its seconds;
 * - `tcpSocket` (deprecated upstream, never run): fails as an invalid handler.
 *
 * A failed hook resolves to upstream's message (`Exec lifecycle hook ([sh -c exit 3]) for
 * Container "app" in Pod "web_default(<uid>)" failed - error: …`); the callers record it as
 * `FailedPostStartHook` / `FailedPreStopHook`. `signal` ends a hook early (preStop's grace period
 * is over): the hook then fails.
 *
 * @example
 * ```ts
 * const failed = await runHook(c.lifecycle!.preStop!, { runtime, pod, container: c, containerId, podIP });
 * if (failed) recorder.event(pod, "Warning", "FailedPreStopHook", failed);
 * ```
 * @module
 */
import type { Container, LifecycleHandler, Pod } from "kubernetes-types/core/v1.d.ts";
import type { RuntimeService } from "../cri/api.ts";
import { httpGetRequest, resolvePort } from "../probes/endpoint.ts";
import { formatPod } from "./format_pod.ts";

export interface HookTarget {
  runtime: RuntimeService;
  pod: Pod;
  container: Container;
  containerId: string;
  /** The pod's IP, for `httpGet` hooks without a host. */
  podIP: () => Promise<string | undefined>;
  /** Ends the hook early; it then fails. */
  signal?: AbortSignal;
}

/** Runs `handler` for the target's container. Resolves to undefined on success, else the failure. */
export async function runHook(handler: LifecycleHandler, target: HookTarget): Promise<string | undefined> {
  const { container, pod } = target;
  const where = `for Container "${container.name}" in Pod "${formatPod(pod)}"`;
  if (handler.exec) {
    const command = handler.exec.command ?? [];
    const { error, output } = await runExec(target, command);
    return error === undefined
      ? undefined
      : `Exec lifecycle hook ([${command.join(" ")}]) ${where} failed - error: ${error}, message: ${
        JSON.stringify(output)
      }`;
  }
  if (handler.httpGet) {
    const error = await runHttpGet(handler.httpGet, target);
    return error === undefined
      ? undefined
      : `HTTP lifecycle hook (${handler.httpGet.path ?? ""}) ${where} failed - error: ${error}`;
  }
  if (handler.sleep) {
    const error = await sleep(handler.sleep.seconds * 1000, target.signal);
    return error === undefined
      ? undefined
      : `Sleep lifecycle hook (${handler.sleep.seconds}) ${where} failed - error: ${error}`;
  }
  return `Cannot run handler: invalid handler: ${JSON.stringify(handler)}`;
}

async function runExec(target: HookTarget, command: string[]): Promise<{ error?: string; output: string }> {
  if (!target.runtime.execSync) return { error: "exec hooks are not supported by this runtime", output: "" };
  const dec = new TextDecoder();
  const running = target.runtime.execSync(target.containerId, command, 0).then(
    (r) => ({
      error: r.exitCode === 0
        ? undefined
        : `command '${command.join(" ")}' exited with ${r.exitCode}: ${
          dec.decode(r.stderr).slice(0, 10 * 1024)
        }`,
      output: (dec.decode(r.stdout) + dec.decode(r.stderr)).slice(0, 10 * 1024),
    }),
    (e) => ({ error: (e as Error).message ?? String(e), output: "" }),
  );
  const stopped = aborted(target.signal).then(() => ({ error: "context deadline exceeded", output: "" }));
  return await Promise.race([running, stopped]);
}

async function runHttpGet(get: NonNullable<LifecycleHandler["httpGet"]>, target: HookTarget) {
  const host = get.host || await target.podIP();
  if (!host) return "failed to find networking container: the pod has no IP";
  // An empty named port is port 80, as upstream.
  const port = get.port === "" ? 80 : resolvePort(get.port, target.container);
  if (port === undefined) return `couldn't find port: ${get.port} in ${target.container.name}`;
  const { url, headers } = httpGetRequest(get, host, port, "kube-lifecycle/1.32");
  try {
    const res = await fetch(url, { headers, signal: target.signal, redirect: "follow" });
    await res.body?.cancel();
    return undefined;
  } catch (e) {
    if (target.signal?.aborted) return `Get "${url}": context deadline exceeded`;
    const err = e as Error & { cause?: Error };
    return `Get "${url}": ${err.cause?.message ?? err.message}`;
  }
}

async function sleep(ms: number, signal?: AbortSignal): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms));
  const stopped = aborted(signal).then(() => "container terminated before sleep hook finished");
  try {
    return await Promise.race([done, stopped]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `signal` aborts; never without one. */
function aborted(signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }));
}
