/**
 * Relaying a client's WebSocket (kubectl exec, attach, port-forward) to the node agent: the API
 * server dials the node's endpoint with the subprotocols the client offered (and its own
 * credential, see auth/kubelet_client.ts), then accepts the client's upgrade with the one the node
 * chose, and copies messages both ways until either side closes. The node speaks the protocol
 * (node/streaming); the API server only checks the request and the pod.
 *
 * Clients that ask for SPDY (an HTTP `Upgrade: SPDY/3.1`) are refused: Deno's server can upgrade
 * only to WebSocket. kubectl 1.32 tries WebSocket first for exec, attach and port-forward.
 * @module
 */
import { ApiError, badRequest, notFound, serviceUnavailable } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { RequestContext } from "../context.ts";
import type { ApiServer } from "../server.ts";

/** The pod a connect request names, and its node. */
export async function podAndNode(server: ApiServer, ctx: RequestContext): Promise<{ pod: KubeObject; node: KubeObject }> {
  const pods = server.podsResource();
  const pod = await server.store.get(pods.store, ctx.info.namespace, ctx.info.name);
  if (!pod) throw notFound(pods.store.gr, ctx.info.name);
  const nodeName: string | undefined = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${ctx.info.name} does not have a host assigned`);
  const nodes = server.resource("", "v1", "nodes")!;
  const node = await server.store.get(nodes.store, "", nodeName);
  if (!node) throw serviceUnavailable(`node "${nodeName}" of pod ${ctx.info.name} is not registered`);
  return { pod, node };
}

/** Refuses a request that is not a WebSocket upgrade. */
export function requireWebSocket(ctx: RequestContext, what: string): void {
  if ((ctx.req.headers.get("upgrade") ?? "").toLowerCase() === "websocket") return;
  throw new ApiError({
    code: 400,
    reason: "BadRequest",
    message: `${what} is served over WebSocket only (upgrade with one of the *.channel.k8s.io or ` +
      `SPDY/3.1+portforward.k8s.io subprotocols); SPDY upgrades are not supported`,
  });
}

/**
 * A subprotocol as it is offered to the node. `SPDY/3.1+portforward.k8s.io` is not an RFC 6455
 * token (the `/`), which Go's WebSocket libraries accept and Deno's client refuses: the hop to the
 * node spells it `SPDY_3.1+portforward.k8s.io` (the node accepts both). Pure.
 */
export function wireProtocol(p: string): string {
  return p.replaceAll("/", "_");
}

/** Dials the node and relays the client's WebSocket to it. */
export async function relayWebSocket(
  server: ApiServer,
  ctx: RequestContext,
  node: KubeObject,
  nodePath: string,
): Promise<Response> {
  const offered = (ctx.req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim())
    .filter(Boolean);
  let upstream: WebSocket;
  const early: (string | ArrayBuffer)[] = [];
  try {
    const dialed = await server.kubelet.webSocket(node, nodePath, offered.map(wireProtocol));
    upstream = dialed.socket;
    early.push(...dialed.received.splice(0));
  } catch (e) {
    throw new ApiError({
      code: 500,
      reason: "InternalError",
      message: `error dialing backend: ${(e as Error).message ?? e}`,
    });
  }
  const chosen = offered.find((p) => wireProtocol(p) === upstream.protocol);
  const { socket, response } = Deno.upgradeWebSocket(ctx.req, {
    ...(chosen ? { protocol: chosen } : {}),
    idleTimeout: 0,
  });
  socket.binaryType = "arraybuffer";
  upstream.onmessage = (ev) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(ev.data);
    else early.push(ev.data);
  };
  socket.onopen = () => {
    for (const m of early.splice(0)) socket.send(m);
    if (upstream.readyState !== WebSocket.OPEN) socket.close(1000);
  };
  socket.onmessage = (ev) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(ev.data);
  };
  const closeBoth = (code?: number, reason?: string) => {
    const c = code === 1000 || (code !== undefined && code >= 3000 && code < 5000) ? code : 1000;
    for (const ws of [socket, upstream]) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        try {
          ws.close(c, reason);
        } catch { /* closing */ }
      }
    }
  };
  upstream.onclose = (ev) => {
    // Deliver what is still queued for the client first.
    if (socket.readyState === WebSocket.OPEN) closeBoth(ev.code, ev.reason);
    else socket.onopen = () => {
      for (const m of early.splice(0)) socket.send(m);
      closeBoth(ev.code, ev.reason);
    };
  };
  socket.onclose = (ev) => closeBoth(ev.code, ev.reason);
  upstream.onerror = () => {};
  socket.onerror = () => {};
  return response;
}
