/**
 * A content-addressed blob store on disk: `<root>/sha256/<hex>`. Every blob is hashed while it is
 * written, to a temporary file renamed into place only when its digest (and size, when known)
 * match, so a blob path that exists always holds the verified content.
 *
 * @example
 * ```ts
 * import { BlobStore } from "./blob_store.ts";
 *
 * const store = new BlobStore(await Deno.makeTempDir());
 * const digest = await store.putBytes(new TextEncoder().encode("hello"));
 * await store.read(digest); // the same bytes
 * ```
 * @module
 */
import { createHash } from "node:crypto";

/** Thrown when content does not match the digest (or size) it was fetched for. */
export class DigestMismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string, what = "blob") {
    super(`The ${what} does not match its digest: expected ${expected}, got ${actual}`);
    this.name = "DigestMismatchError";
  }
}

/** `algorithm` and lowercase hex of a `sha256:…`/`sha512:…` digest. */
export function splitDigest(digest: string): { algorithm: "sha256" | "sha512"; hex: string } {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m || m[2].length !== (m[1] === "sha256" ? 64 : 128)) {
    throw new TypeError(`"${digest}" is not a sha256 or sha512 digest`);
  }
  return { algorithm: m[1] as "sha256" | "sha512", hex: m[2] };
}

/** The sha256 digest of `bytes` (`sha256:<hex>`). */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Checks `bytes` against `digest`; throws {@linkcode DigestMismatchError}. */
export function verifyBytes(bytes: Uint8Array, digest: string, what = "blob"): void {
  const { algorithm } = splitDigest(digest);
  const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
  if (actual !== digest) throw new DigestMismatchError(digest, actual, what);
}

/** Content-addressed, verified blobs under one directory. */
export class BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root.replace(/\/+$/, "");
  }

  /** Where the blob of `digest` lives (whether or not it is there yet). */
  path(digest: string): string {
    const { algorithm, hex } = splitDigest(digest);
    return `${this.root}/${algorithm}/${hex}`;
  }

  /** Whether the blob is stored. */
  async has(digest: string): Promise<boolean> {
    try {
      return (await Deno.stat(this.path(digest))).isFile;
    } catch {
      return false;
    }
  }

  /** The stored blob's bytes. */
  read(digest: string): Promise<Uint8Array> {
    return Deno.readFile(this.path(digest));
  }

  /** Stores bytes under their own sha256 digest and returns it. */
  async putBytes(bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    await this.write(digest, bytes, bytes.byteLength);
    return digest;
  }

  /**
   * Writes a blob that must hash to `digest` (and be `size` bytes, when given). The content goes
   * to a temporary file first; a mismatch removes it and throws {@linkcode DigestMismatchError}.
   * Returns the blob's path.
   */
  async write(digest: string, body: Uint8Array | ReadableStream<Uint8Array>, size?: number): Promise<string> {
    const { algorithm } = splitDigest(digest);
    const final = this.path(digest);
    await Deno.mkdir(final.slice(0, final.lastIndexOf("/")), { recursive: true });
    await Deno.mkdir(`${this.root}/ingest`, { recursive: true });
    const tmp = `${this.root}/ingest/${crypto.randomUUID()}`;
    const hash = createHash(algorithm);
    let written = 0;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      const write = async (chunk: Uint8Array) => {
        hash.update(chunk);
        written += chunk.byteLength;
        for (let off = 0; off < chunk.byteLength;) off += await file.write(chunk.subarray(off));
      };
      if (body instanceof Uint8Array) {
        await write(body);
      } else {
        for await (const chunk of body) await write(chunk);
      }
    } catch (e) {
      file.close();
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    file.close();
    const actual = `${algorithm}:${hash.digest("hex")}`;
    if (actual !== digest || (size !== undefined && written !== size)) {
      await Deno.remove(tmp).catch(() => {});
      if (actual !== digest) throw new DigestMismatchError(digest, actual);
      throw new DigestMismatchError(`${size} bytes`, `${written} bytes`);
    }
    await Deno.rename(tmp, final);
    return final;
  }
}
