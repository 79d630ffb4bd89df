/**
 * Unpacking one image layer stream: decompress → read tar → write entries (`layer_writer.ts`),
 * hashing the uncompressed bytes on the way. The digest of the uncompressed stream is the layer's
 * diffID, checked by the caller against the image config's `rootfs.diff_ids`.
 *
 * This runs on the calling thread, and its file-system calls are synchronous (`layer_writer.ts`):
 * the image store runs small layers here, in slices (`sliceMs`), and large ones in a Worker
 * (`unpack_worker.ts`), whose start costs more than a small layer's whole unpack.
 * @module
 */
import { createHash } from "node:crypto";
import { decompress } from "./decompress.ts";
import { LayerError, LayerWriter, safeComponents } from "./layer_writer.ts";
import { readTar } from "./tar.ts";

export { LayerError, safeComponents };

export interface UnpackResult {
  /** `sha256:` digest of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  entries: number;
}

export interface UnpackOptions {
  /**
   * On a thread that serves other work: give the event loop a turn (a `setTimeout`, so timers
   * and I/O both run) once this many milliseconds of unpacking have gone by since the last.
   * Without it, the unpack holds its thread from one stream chunk to the next.
   */
  sliceMs?: number;
}

/**
 * Unpacks the (compressed or not) layer `blob` into the empty directory `dest`. On a LayerError
 * or a malformed archive it throws; the caller removes `dest`.
 */
export async function unpackLayer(
  blob: ReadableStream<Uint8Array>,
  dest: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const hash = createHash("sha256");
  let size = 0;
  const reader = (await decompress(blob)).getReader();
  let slice = performance.now();
  /** Gives the event loop a turn when this slice of the thread is used up. */
  const pace = async () => {
    if (opts.sliceMs === undefined || performance.now() - slice < opts.sliceMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    slice = performance.now();
  };
  const next = async (): Promise<Uint8Array | undefined> => {
    await pace();
    const r = await reader.read();
    if (r.done) return undefined;
    hash.update(r.value);
    size += r.value.length;
    return r.value;
  };
  const forTar = new ReadableStream<Uint8Array>({
    async pull(c) {
      const chunk = await next();
      if (chunk) c.enqueue(chunk);
      else c.close();
    },
    cancel() {
      // readTar cancels at the end of the archive: the rest is drained below, for the digest.
    },
  }, { highWaterMark: 0 });
  const w = new LayerWriter(dest);
  let entries = 0;
  try {
    for await (const e of readTar(forTar)) {
      await w.apply(e);
      entries++;
      await pace();
    }
    w.finish();
    while (await next()) { /* the end-of-archive blocks and padding */ }
  } catch (e) {
    await reader.cancel(e).catch(() => {});
    throw e;
  }
  return { diffId: `sha256:${hash.digest("hex")}`, size, entries };
}
