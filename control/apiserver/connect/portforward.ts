/**
 * `pods/portforward` (`kubectl port-forward`): relays the client's WebSocket — kubectl 1.32
 * tunnels SPDY/3.1 through it (`SPDY/3.1+portforward.k8s.io`) — to the node's
 * `/portForward/{ns}/{pod}`, which connects to the ports the client names inside the pod.
 * @module
 */
import { badRequest } from "../../api/status.ts";
import type { RequestContext } from "../context.ts";
import type { ApiServer } from "../server.ts";
import { podAndNode, relayWebSocket, requireWebSocket } from "./stream_proxy.ts";

/** The `pods/portforward` connect handler. */
export async function podPortForward(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { pod, node } = await podAndNode(server, ctx);
  if (pod.status?.phase !== "Running") {
    throw badRequest(`pod ${ctx.info.name} is not running and cannot be forwarded; current phase is ${pod.status?.phase}`);
  }
  for (const p of ctx.query.getAll("ports")) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw badRequest(`invalid port "${p}"`);
  }
  requireWebSocket(ctx, "pods/portforward");
  const q = new URLSearchParams();
  for (const p of ctx.query.getAll("ports")) q.append("ports", p);
  const path = `/portForward/${encodeURIComponent(ctx.info.namespace)}/${encodeURIComponent(ctx.info.name)}${
    q.size ? `?${q}` : ""
  }`;
  return await relayWebSocket(server, ctx, node, path);
}
