/**
 * Forwarding of names outside the cluster to the node's own resolvers (the `forward . 
 * /etc/resolv.conf` of CoreDNS's default Corefile): the query goes to each upstream in turn over
 * UDP (over TCP when the answer is truncated), with a fresh random ID, and the answer comes back
 * with the client's ID. With no upstream, or when every upstream fails or times out, the caller
 * answers SERVFAIL: a clean failure, never a hang. At most `maxInFlight` forwarded queries are
 * pending at once; past that, queries fail at once.
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { parseResolvConf } from "./pod_dns.ts";

/** One upstream resolver. */
export interface Upstream {
  ip: string;
  port: number;
}

/** The upstreams of resolv.conf text, without `exclude` (this server's own addresses). */
export function upstreamsFromResolvConf(text: string, exclude: Upstream[] = []): Upstream[] {
  return parseResolvConf(text).servers
    .filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip))
    .map((ip) => ({ ip, port: 53 }))
    .filter((u) => !exclude.some((e) => e.ip === u.ip && e.port === u.port));
}

export class ForwardError extends Error {
  override name = "ForwardError";
}

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Per-upstream timeout (default 2000 ms). */
  timeoutMs?: number;
  maxInFlight?: number;
}

export class Forwarder {
  readonly upstreams: Upstream[];
  readonly #timeoutMs: number;
  readonly #max: number;
  #inFlight = 0;

  constructor(opts: ForwarderOptions) {
    this.upstreams = opts.upstreams;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#max = opts.maxInFlight ?? 256;
  }

  /** Forwards a raw query; resolves to the raw answer (with the query's ID). */
  async query(query: Uint8Array): Promise<Uint8Array> {
    if (this.upstreams.length === 0) throw new ForwardError("no upstream resolver is configured");
    if (this.#inFlight >= this.#max) throw new ForwardError("too many forwarded queries in flight");
    this.#inFlight++;
    try {
      const id = (query[0] << 8) | query[1];
      const ours = crypto.getRandomValues(new Uint16Array(1))[0];
      const q = query.slice();
      q[0] = ours >> 8;
      q[1] = ours & 255;
      let last: unknown;
      for (const u of this.upstreams) {
        try {
          let answer = await this.#udp(u, q, ours);
          if (answer[2] & 0x02) answer = await this.#tcp(u, q, ours); // TC: retry over TCP
          const out = answer.slice();
          out[0] = id >> 8;
          out[1] = id & 255;
          return out;
        } catch (e) {
          last = e;
        }
      }
      throw new ForwardError(`every upstream failed: ${(last as Error)?.message ?? last}`);
    } finally {
      this.#inFlight--;
    }
  }

  #udp(u: Upstream, q: Uint8Array, id: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket("udp4");
      const done = (err?: Error, msg?: Uint8Array) => {
        clearTimeout(timer);
        try {
          sock.close();
        } catch { /* closed */ }
        if (err) reject(err);
        else resolve(msg!);
      };
      const timer = setTimeout(() => done(new ForwardError(`${u.ip}:${u.port} timed out`)), this.#timeoutMs);
      sock.on("error", (e: Error) => done(e));
      sock.on("message", (msg: Buffer) => {
        if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(undefined, new Uint8Array(msg));
      });
      sock.send(Buffer.from(q), u.port, u.ip, (e: Error | null) => e && done(e));
    });
  }

  async #tcp(u: Upstream, q: Uint8Array, id: number): Promise<Uint8Array> {
    const conn = await Deno.connect({ hostname: u.ip, port: u.port });
    const timer = setTimeout(() => conn.close(), this.#timeoutMs);
    try {
      const framed = new Uint8Array(q.length + 2);
      framed[0] = q.length >> 8;
      framed[1] = q.length & 255;
      framed.set(q, 2);
      for (let o = 0; o < framed.length;) o += await conn.write(framed.subarray(o));
      const reader = new TcpFrames();
      const buf = new Uint8Array(65537);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) throw new ForwardError(`${u.ip}:${u.port} closed the connection`);
        for (const msg of reader.push(buf.subarray(0, n))) {
          if (msg.length >= 12 && ((msg[0] << 8) | msg[1]) === id) return msg;
        }
      }
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed by the timer */ }
    }
  }
}

/** Splits a TCP stream into DNS messages (two-byte length prefix, RFC 1035 §4.2.2). */
export class TcpFrames {
  #buf = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf);
    joined.set(chunk, this.#buf.length);
    const out: Uint8Array[] = [];
    let o = 0;
    while (joined.length - o >= 2) {
      const len = (joined[o] << 8) | joined[o + 1];
      if (joined.length - o - 2 < len) break;
      out.push(joined.slice(o + 2, o + 2 + len));
      o += 2 + len;
    }
    this.#buf = joined.slice(o);
    return out;
  }

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.#buf.length;
  }
}
