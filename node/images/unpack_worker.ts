/**
 * Unpacks large layers in a Worker (`unpack_worker_main.ts`), so that decompression, tar parsing
 * and the per-entry file-system calls (synchronous there: microseconds each, not an async op's
 * hop through the blocking pool and back) run on their own thread, and the node agent's event
 * loop keeps serving pod workers, watches and plugin calls (`unpacksInWorker()` says which).
 *
 * One Worker is shared by every unpack in flight in the process: the first starts it (≈20–30 ms,
 * on its own thread), and it is terminated as soon as none is left in flight or held (no timer,
 * nothing left running between pulls, nothing for tests to leak). A pull holds it
 * (`holdUnpackWorker()`) from the moment it knows a layer is missing, so all its layers share
 * one warm Worker.
 *
 * The layer stream is transferred to the Worker (back-pressure intact). Errors come back by name:
 * `LayerError` and `TarError` are rebuilt; an error of the stream itself (a digest mismatch
 * raised by the caller's verifying transform, an aborted download) is rethrown as the very
 * object the stream raised.
 * @module
 */
import { LayerError } from "./layer_writer.ts";
import { TarError } from "./tar.ts";
import type { UnpackResult } from "./unpack.ts";
import type { UnpackReply, UnpackRequest } from "./unpack_worker_main.ts";

const ENTRY = new URL("./unpack_worker_main.ts", import.meta.url);

/**
 * Compressed layers at least this large are unpacked in the Worker; smaller ones on the calling
 * thread, in slices. Measured on the project's machines (docs/benchmarks.md): starting the Worker
 * and running its code cold costs ≈40–70 ms and a ≈17 ms stall of the caller's thread (`new
 * Worker`), while the whole unpack of a 1 MiB, 283-entry busybox layer costs ≈25–35 ms on the
 * caller's thread. From a few MiB on, the work a Worker takes off the agent's thread is worth
 * its start.
 */
export const WORKER_MIN_LAYER_BYTES = 4 * 2 ** 20;

/** Whether a layer of `compressedBytes` (its descriptor's size) is unpacked in the Worker. */
export function unpacksInWorker(compressedBytes: number): boolean {
  return compressedBytes >= WORKER_MIN_LAYER_BYTES;
}

type Waiter = { resolve(r: UnpackReply): void; reject(e: Error): void };

/** The shared Worker, started by the first user and terminated after the last. */
class SharedWorker {
  #worker: Worker | undefined;
  #users = 0;
  #nextId = 0;
  readonly #waiting = new Map<number, Waiter>();

  get running(): boolean {
    return this.#worker !== undefined;
  }

  hold(): Disposable {
    this.#users++;
    let held = true;
    return {
      [Symbol.dispose]: () => {
        if (!held) return;
        held = false;
        if (--this.#users === 0) this.#stop(new Error("The layer unpack worker was stopped"));
      },
    };
  }

  /** Sends one layer; resolves to the Worker's answer. Call while holding the Worker. */
  send(blob: ReadableStream<Uint8Array>, dest: string): Promise<UnpackReply> {
    const worker = this.#worker ??= this.#start();
    const id = this.#nextId++;
    return new Promise<UnpackReply>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ id, blob, dest } satisfies UnpackRequest, [blob as unknown as Transferable]);
    });
  }

  #start(): Worker {
    const worker = new Worker(ENTRY, { type: "module", name: "skiff-unpack" });
    worker.onmessage = (e: MessageEvent<UnpackReply>) => {
      const w = this.#waiting.get(e.data.id);
      this.#waiting.delete(e.data.id);
      w?.resolve(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#stop(new Error(`The layer unpack worker failed: ${e.message}`));
    };
    worker.onmessageerror = () => this.#stop(new Error("The layer unpack worker sent an unreadable reply"));
    return worker;
  }

  #stop(why: Error): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const w of this.#waiting.values()) w.reject(why);
    this.#waiting.clear();
  }
}

const shared = new SharedWorker();

/** Keeps the unpack Worker running until the returned handle is disposed (`using`). */
export function holdUnpackWorker(): Disposable {
  return shared.hold();
}

/** Whether the unpack Worker is running (it is only while an unpack is in flight or held). */
export function unpackWorkerRunning(): boolean {
  return shared.running;
}

/** `unpackLayer()`, run in the shared Worker: same arguments, same result, same errors. */
export async function unpackLayerInWorker(
  blob: ReadableStream<Uint8Array>,
  dest: string,
): Promise<UnpackResult> {
  let sourceError: { error: unknown } | undefined;
  const reader = blob.getReader();
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (error) {
        sourceError = { error };
        c.error(error);
        return;
      }
      try {
        if (r.done) c.close();
        else c.enqueue(r.value);
      } catch {
        // The Worker cancelled the stream meanwhile (it refused the layer): its answer says why.
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  using _held = shared.hold();
  try {
    const reply = await shared.send(source, dest);
    if ("result" in reply) return reply.result;
    if (sourceError) throw sourceError.error;
    const { name, message } = reply.error;
    if (name === "LayerError") throw new LayerError(message);
    if (name === "TarError") throw new TarError(message);
    throw new Error(message);
  } finally {
    await reader.cancel().catch(() => {}); // stops a download the worker gave up on
  }
}
