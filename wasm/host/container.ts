/**
 * Running one Wasm container inside a sandbox: loading its component (memory-capped), giving
 * each instance its own WASI, and dispatching on the world — a command runs `wasi:cli/run`
 * once, a proxy serves `wasi:http/incoming-handler` on its listen addresses.
 * @module
 */
import { createWasi, type Wasi } from "../wasi/mod.ts";
import { runCommand } from "./command.ts";
import { type Instance, loadComponent, type LoadedComponent } from "./loader.ts";
import { podFetch } from "./pod_fetch.ts";
import { outgoingPolicy } from "./policy.ts";
import { serveProxy } from "./proxy.ts";
import type { ContainerExit, ContainerSpec } from "./spec.ts";

/** What a container tells the sandbox. */
export interface ContainerHooks {
  output(stream: "stdout" | "stderr", bytes: Uint8Array): void;
  /** Guest code is about to run synchronously (for the unresponsive-guest watchdog). */
  enter(): void;
  /** The synchronous part of a guest call is over. */
  leave(): void;
  /** Instances were dropped: their memory can be collected. */
  reclaimed?(): void;
}

/** A started container. */
export interface RunningContainer {
  /** Settles once, when the container has ended. */
  exited: Promise<ContainerExit>;
  /** Stops it: a proxy drains for up to `graceMs`; a command is aborted after `graceMs`. */
  stop(graceMs: number): Promise<void>;
  /** Bytes of linear memory its instances hold. */
  memoryBytes(): number;
}

/** One instance with its WASI. */
export interface GuestInstance {
  instance: Instance;
  wasi: Wasi;
}

/** Makes new instances of a loaded component for one container. */
export type InstanceFactory = () => Promise<GuestInstance>;

/**
 * Starts a container. Rejects when it cannot start (the component does not load, its minimum
 * memory is above the limit, a listen address is taken); after that, every end is an exit.
 */
export async function startContainer(spec: ContainerSpec, hooks: ContainerHooks): Promise<RunningContainer> {
  const loaded = await loadComponent(spec.component, spec.memoryLimitBytes);
  const net = spec.network ? podFetch(spec.network) : undefined;
  const factory = instanceFactory(loaded, spec, hooks, net?.fetch);
  let running: RunningContainer;
  try {
    running = spec.component.kind === "command"
      ? await runCommand(factory, spec, hooks)
      : await serveProxy(factory, spec, hooks);
  } catch (e) {
    net?.close();
    throw e;
  }
  running.exited.finally(() => net?.close());
  return running;
}

function instanceFactory(
  loaded: LoadedComponent,
  spec: ContainerSpec,
  hooks: ContainerHooks,
  fetch?: typeof globalThis.fetch,
): InstanceFactory {
  const allow = spec.allowOutgoing ?? (spec.component.kind === "proxy" ? ["*"] : []);
  const outgoing = outgoingPolicy(allow);
  return async () => {
    const wasi = createWasi({
      env: spec.env ?? [],
      args: spec.args ?? [spec.id],
      cwd: spec.cwd,
      stdout: (b) => hooks.output("stdout", b),
      stderr: (b) => hooks.output("stderr", b),
      preopens: (spec.mounts ?? []).map((m) => ({
        guestPath: m.guestPath,
        hostPath: m.hostPath,
        readOnly: !!m.readOnly,
      })),
      outgoing,
      fetch,
    });
    hooks.enter();
    let pending: Promise<Instance>;
    try {
      pending = loaded.instantiate(wasi.imports);
    } finally {
      hooks.leave();
    }
    try {
      return { instance: await pending, wasi };
    } catch (e) {
      wasi.close();
      throw e;
    }
  };
}

/** Finds an export instance by unversioned interface name (`wasi:cli/run`). */
export function findExport(
  exports: Record<string, unknown>,
  iface: string,
): Record<string, unknown> | undefined {
  for (const [k, v] of Object.entries(exports)) {
    if (k === iface || k.startsWith(`${iface}@`)) return v as Record<string, unknown>;
  }
  return undefined;
}
