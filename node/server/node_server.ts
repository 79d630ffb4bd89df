/**
 * The node agent's HTTP endpoint (the kubelet's port): `/healthz`, `/pods` (the pods this node
 * runs) and `/containerLogs/{namespace}/{pod}/{container}`. It listens on the node's InternalIP.
 * In a secured cluster it speaks HTTPS with the node's serving certificate (which the API server
 * checks against the cluster CA) and answers only the API server: every request but `/healthz`
 * must carry the API server's bearer JWT (`authenticate`, see api_server_auth.ts), else 401/403.
 * Without `authenticate` (a development cluster without keys) it answers everyone.
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
  /** Checks the caller: null to serve the request, else the refusal to answer. */
  authenticate?(req: Request): Promise<Response | null>;
  /** `/exec`, `/attach` and `/portForward` (node/streaming): a response for those paths, else undefined. */
  streaming?(req: Request, url: URL): Promise<Response> | undefined;
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
  if (url.pathname === "/healthz" && req.method === "GET") return new Response("ok");
  const refused = await opts.authenticate?.(req);
  if (refused) return refused;
  if (req.method !== "GET") return new Response("method not allowed", { status: 405 });
  const streamed = opts.streaming?.(req, url);
  if (streamed) return await streamed;
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
