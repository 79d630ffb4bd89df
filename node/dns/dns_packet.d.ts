/**
 * The part of dns-packet's API Skiff uses, typed here: the package ships no types, and when the
 * type checker infers them from its JavaScript it crashes ("Debug Failure") as soon as several
 * roots are checked together. Every import of "dns-packet" names this file with `@ts-types`.
 * Decoded messages stay loosely typed, as dns-packet's own documentation describes them.
 * @module
 */
import type { Buffer } from "node:buffer";

// deno-lint-ignore no-explicit-any
export type Packet = any;

declare const packet: {
  encode(message: Packet, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Uint8Array, offset?: number): Packet;
  streamEncode(message: Packet): Buffer;
  streamDecode(buf: Uint8Array): Packet;
  encodingLength(message: Packet): number;
  readonly AUTHORITATIVE_ANSWER: number;
  readonly TRUNCATED_RESPONSE: number;
  readonly RECURSION_DESIRED: number;
  readonly RECURSION_AVAILABLE: number;
  readonly AUTHENTIC_DATA: number;
  readonly CHECKING_DISABLED: number;
  readonly DNSSEC_OK: number;
};
export default packet;
