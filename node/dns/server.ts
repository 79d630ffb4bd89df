/**
 * The DNS listeners: UDP (`node:dgram`, stable in Deno) and TCP (`Deno.listen`, two-byte length
 * framing, several queries per connection, closed after 10 s idle) on one address and port.
 * Every datagram and message goes to a {@linkcode DnsHandler}; a handler failure or a garbage
 * frame closes at most that connection, never the server.
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { type DnsHandler } from "./handler.ts";
import { TcpFrames } from "./forward.ts";

export interface DnsServerOptions {
  hostname: string;
  /** Default 53; 0 picks a free port (the same for UDP and TCP). */
  port?: number;
  handler: DnsHandler;
  /** TCP connections idle longer than this are closed (default 10 s). */
  idleMs?: number;
  /** TCP connections at once (default 256); more are closed at once. */
  maxConnections?: number;
}

export class DnsServer implements AsyncDisposable {
  readonly hostname: string;
  #port = 0;
  #udp?: dgram.Socket;
  #tcp?: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #accepting?: Promise<void>;
  #closed = false;
  readonly #opts: DnsServerOptions;

  private constructor(opts: DnsServerOptions) {
    this.#opts = opts;
    this.hostname = opts.hostname;
  }

  get port(): number {
    return this.#port;
  }

  /** Starts both listeners. */
  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    const s = new DnsServer(opts);
    try {
      await s.#listen(opts.port ?? 53);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  async #listen(port: number): Promise<void> {
    // TCP first: with port 0 it picks the port UDP then binds too.
    this.#tcp = Deno.listen({ hostname: this.hostname, port, transport: "tcp" });
    this.#port = (this.#tcp.addr as Deno.NetAddr).port;
    const udp = dgram.createSocket({ type: "udp4" });
    this.#udp = udp;
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(this.#port, this.hostname, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    udp.on("error", () => {}); // an ICMP error for one client must not end the server
    udp.on("message", (msg: Buffer, rinfo: { address: string; port: number }) => {
      const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
      this.#opts.handler.handle(bytes, { udp: true }).then((answer) => {
        if (answer && !this.#closed) udp.send(Buffer.from(answer), rinfo.port, rinfo.address);
      }).catch(() => {});
    });
    this.#accepting = this.#accept(this.#tcp);
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.#conns.size >= (this.#opts.maxConnections ?? 256)) {
          conn.close();
          continue;
        }
        this.#conns.add(conn);
        this.#serve(conn).catch(() => {}).finally(() => {
          this.#conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        });
      }
    } catch { /* listener closed */ }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const frames = new TcpFrames();
    const buf = new Uint8Array(16384);
    const idleMs = this.#opts.idleMs ?? 10_000;
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<null>((r) => (timer = setTimeout(() => r(null), idleMs)));
      const n = await Promise.race([conn.read(buf), idle]);
      clearTimeout(timer);
      if (n === null || this.#closed) return;
      for (const msg of frames.push(buf.subarray(0, n))) {
        const answer = await this.#opts.handler.handle(msg, { udp: false });
        if (!answer) continue;
        const framed = new Uint8Array(answer.length + 2);
        framed[0] = answer.length >> 8;
        framed[1] = answer.length & 255;
        framed.set(answer, 2);
        for (let o = 0; o < framed.length;) o += await conn.write(framed.subarray(o));
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    try {
      this.#tcp?.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.#accepting;
    const udp = this.#udp;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    this.#udp = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
