/**
 * Layer decompression: gzip (Web `DecompressionStream`), zstd (`node:zlib`), or none, chosen by
 * the stream's magic bytes rather than by the media type alone (Docker-built images are known to
 * label uncompressed layers `.tar.gzip`, and the format is in the bytes anyway).
 * @module
 */
import zlib from "node:zlib";

export type Compression = "gzip" | "zstd" | "none";

/** The layer media types this node unpacks. */
export const LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

/** The compression a media type announces. */
export function declaredCompression(mediaType: string): Compression {
  if (mediaType.endsWith("+zstd")) return "zstd";
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".gzip")) return "gzip";
  return "none";
}

/** The compression `head` (the first bytes of a blob) shows. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/** A TransformStream around a Node.js zlib transform. */
function nodeTransform(t: ReturnType<typeof zlib.createGunzip>): TransformStream<Uint8Array, Uint8Array> {
  let controller!: TransformStreamDefaultController<Uint8Array>;
  let failed: Error | undefined;
  t.on("data", (c: Uint8Array) => controller.enqueue(new Uint8Array(c)));
  t.on("error", (e: Error) => failed = e);
  const drained = () => new Promise<void>((resolve) => t.write(new Uint8Array(0), () => resolve()));
  return new TransformStream({
    start(c) {
      controller = c;
    },
    async transform(chunk) {
      if (failed) throw failed;
      if (!t.write(chunk)) await new Promise((r) => t.once("drain", r));
      if (failed) throw failed;
    },
    async flush() {
      await drained();
      await new Promise<void>((resolve, reject) => {
        t.once("end", resolve);
        t.once("error", reject);
        t.end();
      });
      if (failed) throw failed;
    },
  });
}

/**
 * Decompresses `stream`, whatever its compression turns out to be: peeks at its first bytes, then
 * returns the matching pipeline (back-pressure intact).
 */
export async function decompress(stream: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  while (n < 4) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(r.value);
    n += r.value.length;
  }
  const head = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    head.set(p, off);
    off += p.length;
  }
  let pending: Uint8Array | undefined = n ? head : undefined;
  const rest = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (pending) {
        c.enqueue(pending);
        pending = undefined;
        return;
      }
      const r = await reader.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const kind = sniffCompression(head);
  if (kind === "gzip") {
    return rest.pipeThrough(new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>);
  }
  if (kind === "zstd") return rest.pipeThrough(
    nodeTransform((zlib as unknown as { createZstdDecompress(): ReturnType<typeof zlib.createGunzip> }).createZstdDecompress()),
  );
  return rest;
}
