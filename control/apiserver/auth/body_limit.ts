/**
 * The request body size limit (upstream's `MaxRequestBodyBytes`, 3 MiB): a larger body is refused
 * with 413 RequestEntityTooLarge before it is decoded, from its Content-Length when it has one,
 * otherwise as soon as the stream passes the limit.
 *
 * @example
 * ```ts
 * const bytes = await readBodyLimited(req, 3 * 1024 * 1024); // throws 413 past the limit
 * ```
 * @module
 */
import { badRequest, tooLarge } from "../../api/status.ts";

/** Upstream's default limit: 3 MiB. */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

function tooLargeError(limit: number) {
  return tooLarge(`Request entity too large: limit is ${limit}`);
}

/** Reads the whole body, refusing more than `limit` bytes. */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared)) {
    if (Number(declared) > limit) {
      await req.body?.cancel().catch(() => {});
      throw tooLargeError(limit);
    }
    // The HTTP layer holds the body to its declared length: read it in one piece.
    try {
      return await req.bytes();
    } catch (e) {
      throw badRequest(`the request body could not be read: ${(e as Error).message}`);
    }
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLargeError(limit);
      }
      chunks.push(value);
    }
  } catch (e) {
    if ((e as { code?: number }).code === 413) throw e;
    throw badRequest(`the request body could not be read: ${(e as Error).message}`);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
