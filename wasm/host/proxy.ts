/**
 * A `wasi:http/proxy` container: `Deno.serve` on each listen address, each request handed to
 * `wasi:http/incoming-handler.handle` of an idle instance. Instances are reused (a pool that
 * grows, up to `maxConcurrency`, only while requests are suspended in I/O). The response goes out
 * as bytes when the guest finished its body within the call (the common case), else streamed.
 *
 * An instance idle for `idleInstanceMs` (30 s) is dropped and its linear memory returned, as
 * `wasi:http/proxy` hosts that instantiate per request do: an idle pod holds its listeners and no
 * instance, and its next request instantiates a fresh one (milliseconds). Guest state kept in
 * memory across requests therefore lasts only while requests keep coming.
 *
 * A trap or `exit` in a handler ends the container, as a crash ends a process: the request gets
 * a 500, the listeners close, and the node restarts it per restartPolicy. So does the instances'
 * memory growing past the limit (`OOMKilled`).
 * @module
 */
import { IncomingRequest, ResponseOutparam, toResponse } from "../wasi/mod.ts";
import { classifyEnd, memoryBytes, nearMemoryLimit, StopRequested } from "./exit.ts";
import {
  type ContainerHooks,
  findExport,
  type GuestInstance,
  type InstanceFactory,
  type RunningContainer,
} from "./container.ts";
import type { ContainerExit, ContainerSpec } from "./spec.ts";

type Handle = (req: IncomingRequest, out: ResponseOutparam) => Promise<void>;

interface Slot extends GuestInstance {
  handle: Handle;
  /** When it last went idle (performance.now()). */
  idleSince: number;
}

/** Starts serving a proxy component on `spec.listen`. */
export async function serveProxy(
  factory: InstanceFactory,
  spec: ContainerSpec,
  hooks: ContainerHooks,
): Promise<RunningContainer> {
  const max = Math.max(1, spec.maxConcurrency ?? 4);
  const idleMs = spec.idleInstanceMs ?? 30_000;
  let reaper: ReturnType<typeof setTimeout> | undefined;
  const all: Slot[] = [];
  const idle: Slot[] = [];
  const waiters: PromiseWithResolvers<Slot>[] = [];
  let creating = 0;
  let ended = false;
  let resolveExit!: (e: ContainerExit) => void;
  const exited = new Promise<ContainerExit>((r) => (resolveExit = r));
  const servers: Deno.HttpServer[] = [];
  const abortServers = new AbortController();
  let closed = 0; // servers whose shutdown has completed: aborting them again would throw
  // A server whose graceful shutdown has begun must not be aborted as well: Deno's abort then
  // closes the listener a second time and throws BadResource from inside the abort algorithm,
  // where nothing can catch it (it ended the whole sandbox).
  let shuttingDown = false;

  const newSlot = async (): Promise<Slot> => {
    const g = await factory();
    const handle = findExport(g.instance.exports, "wasi:http/incoming-handler")?.handle as Handle | undefined;
    if (!handle) {
      g.wasi.close();
      throw new Error("The component has no wasi:http/incoming-handler export");
    }
    const slot = { ...g, handle, idleSince: performance.now() };
    all.push(slot);
    return slot;
  };

  /** Drops the instances idle for `idleMs`; runs again while some are idle. */
  const reap = () => {
    reaper = undefined;
    if (ended) return;
    const now = performance.now();
    const stale = idle.filter((s) => now - s.idleSince >= idleMs);
    if (stale.length) {
      for (const s of stale) {
        idle.splice(idle.indexOf(s), 1);
        all.splice(all.indexOf(s), 1);
        s.wasi.close();
      }
      hooks.reclaimed?.();
    }
    schedule();
  };
  const schedule = () => {
    if (reaper !== undefined || ended || idleMs <= 0 || !idle.length) return;
    const oldest = Math.min(...idle.map((s) => s.idleSince));
    reaper = setTimeout(reap, Math.max(10, oldest + idleMs - performance.now()));
    Deno.unrefTimer(reaper);
  };

  const end = (exit: ContainerExit) => {
    if (ended) return;
    ended = true;
    clearTimeout(reaper);
    if (!shuttingDown && closed < servers.length) {
      try {
        abortServers.abort();
      } catch { /* a server finished closing meanwhile */ }
    }
    for (const s of all) s.wasi.close();
    for (const w of waiters.splice(0)) w.reject(new Error("The container has ended"));
    // After a stop's grace period the requests still in flight are abandoned (their instances'
    // WASI is closed, so they fail): the listeners are already closed.
    if (shuttingDown) resolveExit(exit);
    else Promise.allSettled(servers.map((s) => s.finished)).then(() => resolveExit(exit));
  };

  const fail = (error: unknown, memories: readonly WebAssembly.Memory[] = []) => {
    end(
      classifyEnd(error ?? new Error("The handler failed"), nearMemoryLimit(memories, spec.memoryLimitBytes)),
    );
  };

  const acquire = async (): Promise<Slot> => {
    const free = idle.pop();
    if (free) return free;
    if (all.length + creating < max) {
      creating++;
      try {
        return await newSlot();
      } finally {
        creating--;
      }
    }
    const waiter = Promise.withResolvers<Slot>();
    waiters.push(waiter);
    return await waiter.promise;
  };

  const release = (slot: Slot) => {
    if (ended) return;
    if (
      spec.memoryLimitBytes && memoryBytes(all.flatMap((s) => s.instance.memories)) > spec.memoryLimitBytes
    ) {
      end({ exitCode: 137, reason: "OOMKilled", message: "The instances' memory grew past the limit" });
      return;
    }
    const next = waiters.shift();
    if (next) return next.resolve(slot);
    slot.idleSince = performance.now();
    idle.push(slot);
    schedule();
  };

  const handler = async (req: Request): Promise<Response> => {
    if (ended) return new Response("The container has stopped\n", { status: 503 });
    let slot: Slot;
    try {
      slot = await acquire();
    } catch (e) {
      if (ended) return new Response("The container has stopped\n", { status: 503 });
      fail(e); // a new instance could not be made: the container cannot serve
      return new Response("The component could not be instantiated\n", { status: 500 });
    }
    const out = new ResponseOutparam();
    const set = new Promise<void>((r) => (out._onSet = () => r()));
    let call: Promise<void>;
    hooks.enter();
    try {
      call = slot.handle(new IncomingRequest(req, slot.wasi.signal), out);
    } catch (e) {
      call = Promise.reject(e);
    } finally {
      hooks.leave();
    }
    const settled = call.then(() => release(slot), (e) => {
      fail(e, slot.instance.memories);
      throw e;
    });
    if (!out._outcome) {
      await Promise.race([set, settled.catch(() => {})]);
    }
    if (!out._outcome) {
      const failed = await settled.then(() => false, () => true);
      return new Response(failed ? "The component failed\n" : "The component set no response\n", {
        status: 500,
      });
    }
    settled.catch(() => {});
    return toResponse(out._outcome);
  };

  // The first instance is made at start: a component that cannot instantiate fails the start.
  const first = await newSlot();
  idle.push(first);
  schedule();
  try {
    for (const addr of spec.listen ?? []) {
      servers.push(Deno.serve({
        hostname: addr.ip,
        port: addr.port,
        signal: abortServers.signal,
        onListen() {},
        onError: (e) => new Response(`Internal error: ${(e as Error)?.message ?? e}\n`, { status: 500 }),
      }, handler));
    }
  } catch (e) {
    end({ exitCode: 1, reason: "Error", message: String(e) });
    await exited;
    throw e;
  }

  return {
    exited,
    async stop(graceMs) {
      if (ended) return;
      shuttingDown = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = Promise.all(servers.map((s) => s.shutdown().then(() => closed++))).then(() =>
        "drained" as const
      );
      const outcome = await Promise.race([
        drained,
        new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), graceMs))),
      ]);
      clearTimeout(timer);
      if (outcome === "drained") end({ exitCode: 0, reason: "Completed" });
      else end(classifyEnd(new StopRequested(), false));
      await exited;
    },
    memoryBytes: () => memoryBytes(all.flatMap((s) => s.instance.memories)),
  };
}
