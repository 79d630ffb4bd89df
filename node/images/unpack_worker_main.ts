/**
 * The entry of the unpack Worker (`unpack_worker.ts`): each `{ id, blob, dest }` message (the
 * layer stream is transferred) is unpacked with synchronous file-system calls on this thread,
 * and answered `{ id, result }` or `{ id, error: { name, message } }`. Several layers may be in
 * flight at once; they interleave where they wait for their streams.
 * @module
 */
import { unpackLayer, type UnpackResult } from "./unpack.ts";

export interface UnpackRequest {
  id: number;
  blob: ReadableStream<Uint8Array>;
  dest: string;
}

export type UnpackReply =
  & { id: number }
  & ({ result: UnpackResult } | { error: { name: string; message: string } });

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<UnpackRequest>) => void) | null;
  postMessage(reply: UnpackReply): void;
};

scope.onmessage = async (e) => {
  const { id, blob, dest } = e.data;
  try {
    scope.postMessage({ id, result: await unpackLayer(blob, dest) });
  } catch (err) {
    const { name, message } = err instanceof Error ? err : new Error(String(err));
    scope.postMessage({ id, error: { name, message } });
  }
};
