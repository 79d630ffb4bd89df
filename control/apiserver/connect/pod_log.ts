/**
 * `GET /api/v1/namespaces/{ns}/pods/{name}/log`: validates the PodLogOptions, picks the container
 * as upstream's `ValidateContainer` does, finds the pod's node and proxies to the node agent's
 * `/containerLogs/{ns}/{pod}/{container}` (the kubelet's endpoint), streaming the body through so
 * `kubectl logs -f` follows. The node is reached through `server.nodeFetch` (its InternalIP and
 * `status.daemonEndpoints.kubeletEndpoint.Port`; HTTPS with a bearer credential when the cluster
 * has TLS material, see auth/kubelet_client.ts). A non-2xx answer of the node becomes a Status
 * with its text as the message.
 * @module
 */
import {
  ApiError,
  badRequest,
  fieldError,
  invalid,
  notFound,
  serviceUnavailable,
  type StatusCause,
} from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { RequestContext } from "../context.ts";
import type { ApiServer } from "../server.ts";

/** The query parameters passed to the node, validated. */
export interface PodLogOptions {
  container: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  sinceSeconds?: number;
  sinceTime?: string;
  tailLines?: number;
  limitBytes?: number;
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "true" || v === "1";
}

function int(q: URLSearchParams, name: string, causes: StatusCause[]): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?[0-9]+$/.test(v)) {
    causes.push(fieldError.invalid(name, v, "must be an integer"));
    return undefined;
  }
  return Number(v);
}

/** Upstream's `ValidatePodLogOptions`, plus parsing. Throws 422 Invalid. */
export function parseLogOptions(
  q: URLSearchParams,
  podName: string,
): Omit<PodLogOptions, "container"> & { container: string } {
  const causes: StatusCause[] = [];
  const opts = {
    container: q.get("container") ?? "",
    follow: bool(q, "follow"),
    previous: bool(q, "previous"),
    timestamps: bool(q, "timestamps"),
    sinceSeconds: int(q, "sinceSeconds", causes),
    sinceTime: q.get("sinceTime") ?? undefined,
    tailLines: int(q, "tailLines", causes),
    limitBytes: int(q, "limitBytes", causes),
  };
  if (opts.tailLines !== undefined && opts.tailLines < 0) {
    causes.push(fieldError.invalid("tailLines", opts.tailLines, "must be greater than or equal to 0"));
  }
  if (opts.limitBytes !== undefined && opts.limitBytes < 1) {
    causes.push(fieldError.invalid("limitBytes", opts.limitBytes, "must be greater than 0"));
  }
  if (opts.sinceSeconds !== undefined && opts.sinceTime !== undefined) {
    causes.push(fieldError.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"));
  } else if (opts.sinceSeconds !== undefined && opts.sinceSeconds < 1) {
    causes.push(fieldError.invalid("sinceSeconds", opts.sinceSeconds, "must be greater than 0"));
  }
  if (opts.sinceTime !== undefined && Number.isNaN(Date.parse(opts.sinceTime))) {
    causes.push(fieldError.invalid("sinceTime", opts.sinceTime, "must be an RFC 3339 time"));
  }
  if (causes.length) throw invalid("PodLogOptions", "", podName, causes);
  return opts;
}

/** Upstream's `ValidateContainer`: the named container, or the only one. */
export function chooseContainer(pod: KubeObject, container: string): string {
  const names = (list: { name: string }[] | undefined) => (list ?? []).map((c) => c.name);
  const main = names(pod.spec?.containers);
  const init = names(pod.spec?.initContainers);
  const ephemeral = names(pod.spec?.ephemeralContainers);
  if (!container) {
    if (main.length === 1) return main[0];
    if (main.length === 0) throw badRequest(`no containers in pod ${pod.metadata.name}`);
    let msg = `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${
      main.join(" ")
    }]`;
    if (init.length) msg += ` or one of the init containers: [${init.join(" ")}]`;
    throw badRequest(msg);
  }
  if (![...main, ...init, ...ephemeral].includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
  }
  return container;
}

/** The query string sent to the node. */
export function nodeQuery(opts: PodLogOptions): string {
  const q = new URLSearchParams();
  if (opts.follow) q.set("follow", "true");
  if (opts.previous) q.set("previous", "true");
  if (opts.timestamps) q.set("timestamps", "true");
  if (opts.sinceSeconds !== undefined) q.set("sinceSeconds", String(opts.sinceSeconds));
  if (opts.sinceTime !== undefined) q.set("sinceTime", opts.sinceTime);
  if (opts.tailLines !== undefined) q.set("tailLines", String(opts.tailLines));
  if (opts.limitBytes !== undefined) q.set("limitBytes", String(opts.limitBytes));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** The `pods/log` connect handler. */
export async function podLog(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { info } = ctx;
  if (ctx.req.method !== "GET") {
    throw new ApiError({ code: 405, reason: "MethodNotAllowed", message: "pods/log supports only GET" });
  }
  const pods = server.podsResource();
  const pod = await server.store.get(pods.store, info.namespace, info.name);
  if (!pod) throw notFound(pods.store.gr, info.name);
  const parsed = parseLogOptions(ctx.query, info.name);
  const container = chooseContainer(pod, parsed.container);
  const nodeName: string | undefined = pod.spec?.nodeName;
  const text = { "Content-Type": "text/plain" };
  if (!nodeName) return new Response("", { headers: text }); // upstream: no host yet, no logs
  const nodes = server.resource("", "v1", "nodes")!;
  const node = await server.store.get(nodes.store, "", nodeName);
  if (!node) throw serviceUnavailable(`node "${nodeName}" of pod ${info.name} is not registered`);
  const path = `/containerLogs/${encodeURIComponent(info.namespace)}/${encodeURIComponent(info.name)}/${
    encodeURIComponent(container)
  }${nodeQuery({ ...parsed, container })}`;
  let res: Response;
  try {
    // HTTPS with the node's serving certificate checked, when the cluster has TLS material (see
    // auth/kubelet_client.ts). When the client goes away its response body is cancelled, which
    // closes this request too.
    res = await server.nodeFetch(node, path);
  } catch (e) {
    throw serviceUnavailable(`cannot reach the agent of node "${nodeName}": ${(e as Error).message}`);
  }
  if (!res.ok) {
    const body = (await res.text()).trim();
    const reason = res.status === 404 ? "NotFound" : res.status === 400 ? "BadRequest" : "InternalError";
    throw new ApiError({
      code: res.status,
      reason,
      message: body || `node ${nodeName} answered ${res.status}`,
    });
  }
  return new Response(res.body, { status: 200, headers: text });
}
