/**
 * The Ingress data plane: HTTP/1.1 and HTTPS listeners (`node:http` / `node:https`, which in
 * Deno serve TLS with an SNI callback, where `Deno.serve` takes a single certificate) that
 * proxy each request to an endpoint of the routed Service:
 *
 * - request and response bodies stream both ways (no buffering), hop-by-hop headers are dropped,
 *   `X-Forwarded-For/-Host/-Port/-Proto` and `X-Real-IP` are added, `Host` is kept;
 * - `Upgrade` requests (WebSockets) are relayed as raw bytes once the backend answers;
 * - no route: 404; a Service missing or without a ready endpoint: 503 at once, never a hang;
 *   a backend refusing or failing: 502; a backend not connecting within `connectTimeoutMs`: 504.
 * @module
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type tls from "node:tls";
import type { Buffer } from "node:buffer";
import { type Backend, hostOf } from "./routes.ts";

/** An endpoint to send a request to, or why there is none. */
export type Pick = { ip: string; port: number } | { error: "no-service" | "no-endpoints" | "unsupported" };

export interface IngressServerOptions {
  hostname: string;
  /** HTTP port (undefined: no HTTP listener; 0: a free port). */
  httpPort?: number;
  /** HTTPS port (undefined: none). */
  httpsPort?: number;
  route(host: string, path: string): Backend | undefined;
  pick(backend: Backend): Pick;
  /** The TLS context for an SNI name (undefined: the handshake fails). */
  sni(servername: string): tls.SecureContext | undefined;
  connectTimeoutMs?: number;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function forwardHeaders(
  req: http.IncomingMessage,
  scheme: "http" | "https",
  localPort: number,
  keepUpgrade: boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens = String(req.headers.connection ?? "").toLowerCase().split(",").map((s) => s.trim());
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (!keepUpgrade && (HOP_BY_HOP.has(k) || connectionTokens.includes(k))) continue;
    out[k] = v;
  }
  const client = req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "";
  const prior = req.headers["x-forwarded-for"];
  out["x-forwarded-for"] = prior ? `${prior}, ${client}` : client;
  out["x-real-ip"] = client;
  out["x-forwarded-host"] = req.headers.host ?? "";
  out["x-forwarded-port"] = String(localPort);
  out["x-forwarded-proto"] = scheme;
  return out;
}

function responseHeaders(h: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const tokens = String(h.connection ?? "").toLowerCase().split(",").map((s) => s.trim());
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || tokens.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  404: "404 page not found\n",
  502: "502 Bad Gateway\n",
  503: "503 Service Temporarily Unavailable\n",
  504: "504 Gateway Timeout\n",
};

function fail(res: http.ServerResponse, status: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(STATUS_TEXT[status] ?? `${status}\n`);
}

/** The listeners; `close()` stops them and ends open connections. */
export class IngressServer implements AsyncDisposable {
  readonly #opts: IngressServerOptions;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  #http?: http.Server;
  #https?: https.Server;
  readonly #sockets = new Set<net.Socket>();
  /** Requests proxied, by outcome. */
  readonly stats = { proxied: 0, notFound: 0, unavailable: 0, badGateway: 0, upgrades: 0 };

  private constructor(opts: IngressServerOptions) {
    this.#opts = opts;
  }

  get httpPort(): number | undefined {
    return (this.#http?.address() as net.AddressInfo | null)?.port;
  }

  get httpsPort(): number | undefined {
    return (this.#https?.address() as net.AddressInfo | null)?.port;
  }

  /** Starts the listeners that have a port. */
  static async start(opts: IngressServerOptions): Promise<IngressServer> {
    const s = new IngressServer(opts);
    try {
      if (opts.httpPort !== undefined) {
        s.#http = http.createServer((req, res) => s.#handle(req, res, "http"));
        s.#wire(s.#http, "http");
        await listen(s.#http, opts.hostname, opts.httpPort);
      }
      if (opts.httpsPort !== undefined) {
        s.#https = https.createServer({
          SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
            const ctx = opts.sni(name);
            if (ctx) cb(null, ctx);
            else cb(new Error(`no certificate for ${name}`));
          },
        }, (req, res) => s.#handle(req, res, "https"));
        s.#wire(s.#https, "https");
        await listen(s.#https, opts.hostname, opts.httpsPort);
      }
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  #wire(server: http.Server | https.Server, scheme: "http" | "https") {
    server.on("connection", (sock: net.Socket) => {
      this.#sockets.add(sock);
      sock.on("close", () => this.#sockets.delete(sock));
    });
    server.on("secureConnection", (sock: net.Socket) => {
      this.#sockets.add(sock);
      sock.on("close", () => this.#sockets.delete(sock));
    });
    server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      this.#upgrade(req, socket, head, scheme)
    );
    server.on("clientError", (_e: Error, socket: net.Socket) => {
      try {
        socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      } catch { /* gone */ }
    });
  }

  #target(req: http.IncomingMessage): { ep?: { ip: string; port: number }; status?: number } {
    const host = hostOf(req.headers.host);
    const path = (req.url ?? "/").split("?")[0] || "/";
    const backend = this.#opts.route(host, path);
    if (!backend) {
      this.stats.notFound++;
      return { status: 404 };
    }
    const pick = this.#opts.pick(backend);
    if ("error" in pick) {
      this.stats.unavailable++;
      return { status: 503 };
    }
    return { ep: pick };
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse, scheme: "http" | "https") {
    const { ep, status } = this.#target(req);
    if (!ep) {
      req.resume();
      return fail(res, status!);
    }
    const localPort = req.socket.localPort ?? 0;
    const up = http.request({
      host: ep.ip,
      port: ep.port,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req, scheme, localPort, false),
      agent: this.#agent,
    });
    const timer = setTimeout(() => {
      if (!res.headersSent) {
        up.destroy();
        this.stats.badGateway++;
        fail(res, 504);
      }
    }, this.#opts.connectTimeoutMs ?? 10_000);
    up.on("response", (r: http.IncomingMessage) => {
      clearTimeout(timer);
      this.stats.proxied++;
      res.writeHead(r.statusCode ?? 502, r.statusMessage, responseHeaders(r.headers));
      r.pipe(res);
      r.on("error", () => res.destroy());
    });
    up.on("error", () => {
      clearTimeout(timer);
      this.stats.badGateway++;
      fail(res, 502);
    });
    res.on("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  #upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer, scheme: "http" | "https") {
    socket.on("error", () => socket.destroy());
    const { ep, status } = this.#target(req);
    if (!ep) {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status!]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.stats.upgrades++;
    const headers = forwardHeaders(req, scheme, req.socket.localPort ?? 0, true);
    const up = net.connect(ep.port, ep.ip, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(headers)) {
        for (const one of Array.isArray(v) ? v : [v]) raw += `${k}: ${one}\r\n`;
      }
      up.write(raw + "\r\n");
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    this.#sockets.add(up);
    up.on("close", () => {
      this.#sockets.delete(up);
      socket.destroy();
    });
    up.on("error", () => {
      if (!up.writable) socket.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
    });
    socket.on("close", () => up.destroy());
  }

  async close(): Promise<void> {
    const servers = [this.#http, this.#https].filter((s): s is http.Server => !!s);
    const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const sock of this.#sockets) sock.destroy();
    this.#agent.destroy();
    await Promise.all(closed);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function listen(server: http.Server, hostname: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
