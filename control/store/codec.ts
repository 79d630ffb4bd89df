/**
 * Object encoding: CBOR (cbor-x), split into chunks when one KV value cannot hold it.
 * @module
 */
// "cbor-x/encode" resolves to cbor-x's pure-JS index under the node condition. The package root
// would load the optional native addon cbor-extract, which crashes Deno (it links against Node's V8).
import { Decoder, Encoder } from "cbor-x/encode";
import type { KubeObject } from "../api/types.ts";

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Largest object stored inline in one KV value (the log entry wraps it, so keep headroom). */
export const INLINE_MAX = 60_000;
/** Size of one chunk of a large object. */
export const CHUNK_SIZE = 64_000;
/**
 * Largest encoded object accepted. One atomic commit may carry 819,200 bytes of keys and values;
 * the object's chunks share it with the chunk keys, the change-log entry and the head key.
 */
export const MAX_OBJECT_BYTES = 786_432;

/**
 * Encodes an object without its resourceVersion (that is the KV versionstamp). The result is a
 * copy: cbor-x returns views into a shared buffer, which KV would serialize whole.
 */
export function encodeObject(obj: KubeObject): Uint8Array {
  const rv = obj.metadata.resourceVersion;
  if (rv === undefined) return new Uint8Array(encoder.encode(obj));
  delete obj.metadata.resourceVersion;
  try {
    return new Uint8Array(encoder.encode(obj));
  } finally {
    obj.metadata.resourceVersion = rv;
  }
}

export function decodeObject(bytes: Uint8Array, resourceVersion: string): KubeObject {
  const obj = decoder.decode(bytes) as KubeObject;
  obj.metadata.resourceVersion = resourceVersion;
  return obj;
}

export function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK_SIZE) out.push(bytes.subarray(i, i + CHUNK_SIZE));
  return out;
}

export function joinChunks(chunks: Uint8Array[]): Uint8Array {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
