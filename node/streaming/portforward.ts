/**
 * The kubelet's `/portForward/{namespace}/{pod}` for kubectl 1.32: SPDY/3.1 tunnelled through a
 * WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`; every binary message carries bytes of
 * the SPDY session). Each forwarded connection is a pair of streams with the same `requestID`
 * header: `streamType: error` (the server writes failures there, then ends it) and `streamType:
 * data` (the connection's bytes both ways), with the `port` header. A connection goes to that port
 * inside the pod's network namespace (the runtime's `portForward`).
 * @module
 */
import { negotiate } from "./channel.ts";
import { type StreamingSource, text } from "./exec.ts";
import { type SpdyStream, SpdyServerSession } from "./spdy.ts";

/**
 * The subprotocols served: kubectl's name, and the spelling the API server uses on its hop to the
 * node (`/` is not a WebSocket token character, and Deno's client refuses it).
 */
export const PORT_FORWARD_PROTOCOLS = ["SPDY/3.1+portforward.k8s.io", "SPDY_3.1+portforward.k8s.io"] as const;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
}

/** Serves `/portForward/...`. */
export async function servePortForward(
  req: Request,
  source: StreamingSource,
  namespace: string,
  podName: string,
): Promise<Response> {
  if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return text(400, "port-forward needs a WebSocket upgrade (SPDY/3.1+portforward.k8s.io)");
  }
  const protocol = negotiate(req.headers.get("sec-websocket-protocol"), PORT_FORWARD_PROTOCOLS);
  if (!protocol) return text(400, `no supported WebSocket subprotocol: this node serves ${PORT_FORWARD_PROTOCOLS.join(", ")}`);
  const pod = source.pod(namespace, podName);
  if (!pod) return text(404, `pod "${namespace}/${podName}" not found on this node`);
  const rs = await source.runtimeStatus(pod.metadata!.uid!);
  const sandbox = rs.sandboxes.find((s) => s.state === "SANDBOX_READY");
  if (!sandbox) return text(400, `pod ${podName} has no running sandbox`);
  const runtime = source.runtime;
  if (!runtime.portForward) return text(400, "this pod's runtime cannot forward ports");

  const { socket, response } = Deno.upgradeWebSocket(req, { protocol, idleTimeout: 0 });
  socket.binaryType = "arraybuffer";
  const closers = new Set<() => void>();
  const pairs = new Map<string, Pair>();
  const session = new SpdyServerSession((bytes) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
  }, (stream) => {
    const id = stream.headers["requestid"] ?? String(stream.id);
    const pair = pairs.get(id) ?? {};
    pairs.set(id, pair);
    if (stream.headers["streamtype"] === "error") pair.error = stream;
    else if (stream.headers["streamtype"] === "data") pair.data = stream;
    else {
      stream.reset();
      return;
    }
    if (pair.error && pair.data) {
      pairs.delete(id);
      forward(pair.error, pair.data).catch(() => {});
    }
  });

  async function forward(error: SpdyStream, data: SpdyStream): Promise<void> {
    const port = Number(data.headers["port"]);
    const fail = (message: string) => {
      error.write(new TextEncoder().encode(message));
      error.end();
      data.end();
    };
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      return fail(`invalid port "${data.headers["port"]}"`);
    }
    // Until the connection is open, client data is kept.
    const pending: Uint8Array[] = [];
    let clientDone = false;
    let conn: Deno.Conn | undefined;
    data.onData = (d) => conn ? conn.write(d).catch(() => {}) : pending.push(d);
    let connClosed = false;
    const closeConn = () => {
      if (connClosed || !conn) return;
      connClosed = true;
      try {
        conn.close();
      } catch { /* closed */ }
    };
    data.onEnd = (reset) => {
      clientDone = true;
      if (reset) closeConn();
      else conn?.closeWrite().catch(() => {});
    };
    try {
      conn = await runtime.portForward!(sandbox!.id, port);
    } catch (e) {
      return fail(
        `error forwarding port ${port} to pod ${pod!.metadata!.uid}, uid : ${(e as Error).message ?? e}`,
      );
    }
    closers.add(closeConn);
    try {
      for (const d of pending) await conn.write(d);
      if (clientDone) await conn.closeWrite().catch(() => {});
      const buf = new Uint8Array(32 * 1024);
      while (true) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        data.write(buf.slice(0, n));
      }
    } finally {
      closers.delete(closeConn);
      closeConn();
      data.end();
      error.end();
    }
  }

  let queue = Promise.resolve();
  socket.onmessage = (ev) => {
    const bytes = typeof ev.data === "string" ? new TextEncoder().encode(ev.data) : new Uint8Array(ev.data);
    queue = queue.then(() => session.receive(bytes)).catch((e) => {
      console.error("port-forward: a malformed SPDY frame ended the session:", e);
      socket.close();
    });
  };
  socket.onclose = () => {
    session.close();
    for (const close of closers) close();
  };
  socket.onerror = () => {};
  return response;
}
