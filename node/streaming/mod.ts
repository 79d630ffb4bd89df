/**
 * The kubelet's streaming endpoints — `/exec`, `/attach` and `/portForward` — over WebSocket,
 * as the API server reaches them for `kubectl exec`, `attach` and `port-forward` (the API server
 * relays the client's WebSocket to these; see control/apiserver/connect/stream_proxy.ts).
 *
 * @example
 * ```ts ignore
 * const streaming = streamingHandler(source);
 * Deno.serve((req) => streaming(req, new URL(req.url)) ?? new Response("not found", { status: 404 }));
 * ```
 * @module
 */
import { serveExec, type StreamingSource } from "./exec.ts";
import { servePortForward } from "./portforward.ts";

export type { StreamingSource };

/** A router for the streaming paths: a response for them, undefined for any other path. */
export function streamingHandler(
  source: StreamingSource,
): (req: Request, url: URL) => Promise<Response> | undefined {
  return (req, url) => {
    const m = url.pathname.match(/^\/(exec|attach)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/);
    if (m) {
      const [kind, ns, pod, container] = [m[1], ...m.slice(2).map(decodeURIComponent)];
      return serveExec(req, source, kind as "exec" | "attach", ns, pod, container, url.searchParams);
    }
    const pf = url.pathname.match(/^\/portForward\/([^/]+)\/([^/]+)\/?$/);
    if (pf) return servePortForward(req, source, decodeURIComponent(pf[1]), decodeURIComponent(pf[2]));
    return undefined;
  };
}
