/**
 * A child's output read into at most `max` bytes, until the stream ends or `stop` resolves (a
 * daemon the child left, such as conmon's monitor, may hold its pipes open for good): used by
 * the `host-process` capability (node/hostcaps/host_process.ts) and the mount namespace's spawner
 * (spawner_main.ts).
 * @module
 */

/** Reads `stream` into at most `max` bytes, until it ends or `stop` resolves. */
export async function collectOutput(
  stream: ReadableStream<Uint8Array>,
  stop: Promise<void>,
  max: number,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stopped = stop.then(() => null);
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), stopped]);
      if (!r || r.done) break;
      if (size < max) chunks.push(r.value.subarray(0, max - size));
      size += r.value.length;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
