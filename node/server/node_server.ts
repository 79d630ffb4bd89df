/**
 * The node agent's HTTP endpoint (the kubelet's port): `/healthz`, `/pods` (the pods this node
 * runs) and `/containerLogs/{namespace}/{pod}/{container}`. It listens on the node's InternalIP;
 * only the API server should call it. It speaks HTTPS when given a serving certificate (the API
 * server then checks it against the cluster CA); it does not yet check who calls — verifying the
 * API server's bearer token is the security issue's part.
 * @module
 */
import { containerLogs, type LogSource } from "./container_logs.ts";

export interface NodeServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  logs: LogSource;
  /** The pods this node runs (for `/pods`). */
  pods(): unknown[];
}

export interface NodeServer extends AsyncDisposable {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Routes one request. */
export async function handle(
  req: Request,
  opts: NodeServerOptions,
  closing?: AbortSignal,
): Promise<Response> {
  const url = new URL(req.url);
  if (req.method !== "GET") return new Response("method not allowed", { status: 405 });
  if (url.pathname === "/healthz") return new Response("ok");
  if (url.pathname === "/pods") {
    return Response.json({ kind: "PodList", apiVersion: "v1", metadata: {}, items: opts.pods() });
  }
  const m = url.pathname.match(/^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/);
  if (m) {
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent);
    // A client going away cancels the body stream; `closing` ends follows on shutdown.
    return await containerLogs(opts.logs, ns, pod, container, url.searchParams, closing);
  }
  return new Response("not found", { status: 404 });
}

/** Starts the endpoint. */
export async function startNodeServer(opts: NodeServerOptions): Promise<NodeServer> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const closing = new AbortController();
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}),
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
    onError: (e) => {
      console.error("node endpoint error:", e);
      return new Response("internal error", { status: 500 });
    },
  }, (req) => handle(req, opts, closing.signal));
  const addr = await listening.promise;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      closing.abort(); // ends `follow` streams
      await server.shutdown();
    })();
  return {
    port: addr.port,
    url: `${opts.tls ? "https" : "http"}://${addr.hostname}:${addr.port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
