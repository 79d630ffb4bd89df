/**
 * A second listener of an API server for the write benches' open-loop slices: it stamps each
 * response with `x-bench-handler: <start> <end>`, the moments (absolute ms) the request was handed
 * to the API server and its Response returned (the span upstream's
 * apiserver_request_duration_seconds covers), so a client on the same clock can split each
 * request into before, inside and after the handler.
 * @module
 */

/** The server's `fetch`, as `startControlPlane` returns it. */
interface Fetcher {
  fetch(req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response | Promise<Response>;
}

const now = () => performance.timeOrigin + performance.now();

/** Starts the listener; `configMaps` is its URL of the default namespace's ConfigMaps. */
export function timedListener(server: Fetcher): { configMaps: string; shutdown(): Promise<void> } {
  const timed = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req, info) => {
    const start = now();
    const res = await server.fetch(req, info);
    res.headers.set("x-bench-handler", `${start} ${now()}`);
    return res;
  });
  return {
    configMaps: `http://127.0.0.1:${timed.addr.port}/api/v1/namespaces/default/configmaps`,
    shutdown: () => timed.shutdown(),
  };
}
