/**
 * The kubelet's `/containerLogs/{namespace}/{pod}/{container}` endpoint: finds the container's
 * current (or, with `previous`, previous) instance and streams its CRI log file rendered with the
 * query options. Errors are plain text with upstream's wording; the API server turns them into a
 * Status.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import type { RuntimeService } from "../cri/api.ts";
import { type LogReadOptions, readLogs } from "../logs/log_reader.ts";
import { podContainerSpecs, type RuntimePodStatus, statusesOf } from "../kubelet/runtime_pod.ts";

/** What the endpoint needs from the agent. */
export interface LogSource {
  /** The pod `namespace/name` on this node. */
  pod(namespace: string, name: string): Pod | undefined;
  runtimeStatus(uid: string): Promise<RuntimePodStatus>;
  runtime: RuntimeService;
  now?: () => number;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** Parses the query into read options; throws a message for bad values. */
export function logOptions(q: URLSearchParams, now: number): LogReadOptions & { previous: boolean } {
  const int = (name: string) => {
    const v = q.get(name);
    if (v === null || v === "") return undefined;
    if (!/^[0-9]+$/.test(v)) throw new Error(`${name}: invalid value ${JSON.stringify(v)}`);
    return Number(v);
  };
  const sinceSeconds = int("sinceSeconds");
  const sinceTime = q.get("sinceTime");
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  else if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new Error(`sinceTime: invalid value ${JSON.stringify(sinceTime)}`);
  }
  const flag = (name: string) => q.get(name) === "true" || q.get(name) === "1";
  return {
    follow: flag("follow"),
    previous: flag("previous"),
    timestamps: flag("timestamps"),
    tailLines: int("tailLines"),
    limitBytes: int("limitBytes"),
    sinceMs,
  };
}

/** Serves one `/containerLogs/...` request. */
export async function containerLogs(
  source: LogSource,
  namespace: string,
  podName: string,
  container: string,
  query: URLSearchParams,
  signal?: AbortSignal,
): Promise<Response> {
  let opts;
  try {
    opts = logOptions(query, (source.now ?? Date.now)());
  } catch (e) {
    return text(400, (e as Error).message);
  }
  const pod = source.pod(namespace, podName);
  if (!pod) return text(404, `pod "${namespace}/${podName}" not found on this node`);
  const spec = podContainerSpecs(pod).find((c) => c.name === container);
  if (!spec) return text(404, `container "${container}" not found in pod "${podName}"`);
  const rs = await source.runtimeStatus(pod.metadata!.uid!);
  const instances = statusesOf(rs, container);
  const target = opts.previous ? instances[1] : instances[0];
  if (!target) {
    if (opts.previous) {
      return text(400, `previous terminated container "${container}" in pod "${podName}" not found`);
    }
    const waiting = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
      .find((s) => s.name === container)?.state?.waiting?.reason ?? "ContainerCreating";
    return text(400, `container "${container}" in pod "${podName}" is waiting to start: ${waiting}`);
  }
  const follow = opts.follow && !opts.previous;
  const body = readLogs(target.logPath, { ...opts, follow }, {
    running: async () => (await source.runtime.containerStatus(target.id))?.state === "CONTAINER_RUNNING",
  });
  signal?.addEventListener("abort", () => body.cancel().catch(() => {}), { once: true });
  return new Response(body, { headers: { "Content-Type": "text/plain; charset=utf-8" } });
}
