/**
 * The plugin host's channel: the calls of control/api/plugins.ts over long-lived TCP (or TLS)
 * connections, one JSON object per line (control/api/plugin_channel.ts is the callers' side).
 * A connection starts with `{"token": "<bearer token>"}` (`{}` when the host needs none); then
 * each line `{"id", "path", "body"}` is answered, in any order, by `{"id", "status", "body"}`:
 * the status and body `POST <path>` would get over HTTP. The host's HTTP API tells callers the
 * port (`GET /channel`). Sockets get TCP_NODELAY: a WebSocket would not (Deno's client sends a
 * message over 1 KiB in two writes, and Nagle + delayed ACK then add 40 ms to every call).
 * @module
 */
import { eachLine, writeAll } from "../../control/api/plugin_channel.ts";

/** `POST <path>` of the plugin host's API on a parsed body. */
export type PostFn = (path: string, body: unknown) => Promise<{ status: number; body: unknown }>;

/** Options of {@linkcode listenChannel}. */
export interface ChannelOptions {
  hostname: string;
  /** Default 0: any free port. */
  port?: number;
  tls?: { cert: string; key: string };
  /** The bearer token callers must present first. */
  token?: string;
}

/** A listening channel: its port, and `close()` (stops listening, closes every connection). */
export interface Channel {
  port: number;
  close(): Promise<void>;
}

const ENCODER = new TextEncoder();

/** Listens for callers' connections and answers their calls with `post`. */
export function listenChannel(post: PostFn, opts: ChannelOptions): Channel {
  const listener: Deno.Listener = opts.tls
    ? Deno.listenTls({ hostname: opts.hostname, port: opts.port ?? 0, ...opts.tls })
    : Deno.listen({ hostname: opts.hostname, port: opts.port ?? 0 });
  const conns = new Set<Deno.Conn>();
  const served = new Set<Promise<void>>();
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      const p = serveConn(conn, post, opts.token).finally(() => {
        conns.delete(conn);
        served.delete(p);
      });
      served.add(p);
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await accepting;
      for (const c of conns) closeQuietly(c);
      await Promise.allSettled([...served]);
    },
  };
}

/** Serves one connection until it closes. */
async function serveConn(conn: Deno.Conn, post: PostFn, token: string | undefined): Promise<void> {
  (conn as Deno.TcpConn).setNoDelay?.(true);
  let authenticated = false;
  let writing = Promise.resolve();
  const send = (line: string) => {
    const bytes = ENCODER.encode(line + "\n");
    writing = writing.then(() => writeAll(conn, bytes)).catch(() => closeQuietly(conn));
  };
  const answer = async (m: { id?: unknown; path?: unknown; body?: unknown }) => {
    let a: { status: number; body: unknown };
    try {
      a = await post(String(m.path), m.body);
    } catch (e) {
      a = { status: 500, body: { kind: "Status", message: (e as Error)?.message ?? String(e), code: 500 } };
    }
    send(JSON.stringify({ id: m.id, ...a }));
  };
  try {
    await eachLine(conn, (line) => {
      let m: { id?: unknown; path?: unknown; body?: unknown; token?: unknown };
      try {
        m = JSON.parse(line);
      } catch {
        return false;
      }
      if (!authenticated) {
        // The first line presents the token; a wrong one closes the connection.
        if (token && m.token !== token) return false;
        authenticated = true;
        return true;
      }
      void answer(m);
      return true;
    });
  } finally {
    await writing;
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
