/**
 * One DNS query in, one answer out (or none). Decoding and encoding go through `dns-packet`.
 *
 * - A message that cannot be decoded gets FORMERR (when its 12-byte header is there and it is a
 *   query), else no answer; a response is never answered; an opcode other than QUERY gets
 *   NOTIMP; anything but exactly one question gets FORMERR; a class other than IN is REFUSED.
 * - Names in the cluster zone are answered authoritatively from {@linkcode ClusterRecords}
 *   (ExternalName targets outside the zone are chased through the forwarder); other names are
 *   forwarded, and a forwarding failure is SERVFAIL.
 * - Over UDP an answer larger than the client's limit (512 bytes, or its EDNS payload size)
 *   is truncated (TC) so the client retries over TCP.
 * @module
 */
import { Buffer } from "node:buffer";
// @ts-types="./dns_packet.d.ts"
import packet from "dns-packet";
import type { ClusterRecords, DnsRecord } from "./records.ts";
import type { Forwarder } from "./forward.ts";

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;

export interface HandlerOptions {
  records: ClusterRecords;
  forwarder?: Forwarder;
}

/** What each query cost, for metrics and tests. */
export interface HandlerStats {
  queries: number;
  formerr: number;
  forwarded: number;
  servfail: number;
}

/** A bare header answer: `id`, QR, the query's opcode and RD, and `rcode`. */
function headerOnly(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = 0x80 | (query[2] & 0x79); // QR, opcode, RD
  out[3] = rcode & 0x0f;
  return out;
}

// deno-lint-ignore no-explicit-any
type Packet = any;

export class DnsHandler {
  readonly #records: ClusterRecords;
  readonly #forwarder?: Forwarder;
  readonly stats: HandlerStats = { queries: 0, formerr: 0, forwarded: 0, servfail: 0 };

  constructor(opts: HandlerOptions) {
    this.#records = opts.records;
    this.#forwarder = opts.forwarder;
  }

  /** Answers one message; `udp` applies the size limit. Never throws. */
  async handle(bytes: Uint8Array, opts: { udp: boolean }): Promise<Uint8Array | null> {
    this.stats.queries++;
    if (bytes.length < 12) return null;
    if (bytes[2] & 0x80) return null; // a response: never answered
    let q: Packet;
    try {
      q = packet.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    } catch {
      this.stats.formerr++;
      return headerOnly(bytes, RCODE.FORMERR);
    }
    try {
      return await this.#answer(bytes, q, opts.udp);
    } catch {
      this.stats.servfail++;
      return headerOnly(bytes, RCODE.SERVFAIL);
    }
  }

  async #answer(raw: Uint8Array, q: Packet, udp: boolean): Promise<Uint8Array> {
    if (q.opcode !== "QUERY") return headerOnly(raw, RCODE.NOTIMP);
    if (q.questions.length !== 1) {
      this.stats.formerr++;
      return headerOnly(raw, RCODE.FORMERR);
    }
    const question = q.questions[0];
    const opt = (q.additionals ?? []).find((a: Packet) => a.type === "OPT");
    const limit = udp ? Math.min(4096, Math.max(512, opt?.udpPayloadSize ?? 512)) : 65535;
    if (question.class !== "IN" && question.class !== "ANY") return this.#encode(q, "REFUSED", {}, limit, opt);
    const found = this.#records.lookup(question.name, question.type);
    if (found.rcode === undefined) {
      if (!this.#forwarder) {
        this.stats.servfail++;
        return this.#encode(q, "SERVFAIL", {}, limit, opt);
      }
      this.stats.forwarded++;
      try {
        const answer = await this.#forwarder.query(raw);
        if (udp && answer.length > limit) return this.#truncate(answer);
        return answer;
      } catch {
        this.stats.servfail++;
        return this.#encode(q, "SERVFAIL", {}, limit, opt);
      }
    }
    const answers = [...found.answers];
    if (found.chase && this.#forwarder && (question.type === "A" || question.type === "ANY")) {
      answers.push(...await this.#chase(found.chase));
    }
    return this.#encode(q, found.rcode, {
      answers,
      additionals: found.additionals,
      authorities: found.authorities,
      authoritative: true,
    }, limit, opt);
  }

  /** A records of an ExternalName's target, through the forwarder (nothing on failure). */
  async #chase(name: string): Promise<DnsRecord[]> {
    try {
      const id = crypto.getRandomValues(new Uint16Array(1))[0];
      const bytes = packet.encode({
        type: "query",
        id,
        flags: packet.RECURSION_DESIRED,
        questions: [{ type: "A", class: "IN", name }],
      });
      this.stats.forwarded++;
      const res = packet.decode(Buffer.from(await this.#forwarder!.query(new Uint8Array(bytes))));
      return (res.answers ?? []).filter((a: Packet) => a.type === "A" || a.type === "CNAME");
    } catch {
      return [];
    }
  }

  #encode(
    q: Packet,
    rcode: Rcode,
    body: { answers?: DnsRecord[]; additionals?: DnsRecord[]; authorities?: DnsRecord[]; authoritative?: boolean },
    limit: number,
    opt: Packet,
  ): Uint8Array {
    const flags = (body.authoritative ? packet.AUTHORITATIVE_ANSWER : 0) |
      (q.flag_rd ? packet.RECURSION_DESIRED : 0) | packet.RECURSION_AVAILABLE | RCODE[rcode];
    const ednsOpt = opt ? [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [] }] : [];
    const res = {
      type: "response",
      id: q.id,
      flags,
      questions: q.questions,
      answers: body.answers ?? [],
      authorities: body.authorities ?? [],
      additionals: [...(body.additionals ?? []), ...ednsOpt],
    };
    let out = new Uint8Array(packet.encode(res));
    if (out.length > limit) {
      out = new Uint8Array(packet.encode({
        ...res,
        flags: flags | packet.TRUNCATED_RESPONSE,
        answers: [],
        authorities: [],
        additionals: ednsOpt,
      }));
    }
    return out;
  }

  /** A forwarded answer too large for UDP: its header and question, with TC set. */
  #truncate(answer: Uint8Array): Uint8Array {
    try {
      const res = packet.decode(Buffer.from(answer));
      return new Uint8Array(packet.encode({
        type: "response",
        id: res.id,
        flags: res.flags | packet.TRUNCATED_RESPONSE,
        questions: res.questions,
      }));
    } catch {
      const out = headerOnly(answer, answer[3] & 0x0f);
      out[2] |= 0x02;
      return out;
    }
  }
}
