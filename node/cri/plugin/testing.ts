/**
 * Test helpers for the runtime plugin path: a node's runtime half for tests ({@linkcode
 * openRuntimeRig}: a private mount namespace, image store and test registry) on which a runtime
 * component runs in a real runner process (as a node runs it) with its node-side half
 * ({@linkcode RuntimeHost}); and the built-in `crun` component on one. Torn down on dispose.
 * @module
 */
import type { PluginObject } from "../../../control/api/plugins.ts";
import { buildPlugin } from "../../../plugins/host/build.ts";
import { hostCallHandler } from "../../../plugins/host/host_calls.ts";
import type { HostCallHandler } from "../../../plugins/host/runner_client.ts";
import { type PluginComponent, PluginCache } from "../../../plugins/host/prepare.ts";
import { Runner } from "../../../plugins/host/runner_client.ts";
import { startRegistry, type TestRegistry } from "../../../tests/registry.ts";
import { ImageStore } from "../../images/image_store.ts";
import { MountNamespace } from "../../mountns/mount_ns.ts";
import { RegistryClient } from "../../registry/mod.ts";
import { removeCgroups } from "../oci/cgroups.ts";
import { readOnlyBinaries } from "../oci/crun.ts";
import { overlaySupported } from "../oci/rootfs.ts";
import { CRUN_GRANTS, RuntimeHost, runtimeHostCalls } from "./runtime_host.ts";
import { CreatingContainers } from "./creating_containers.ts";
import { NodeImageService } from "./node_image_service.ts";

/** The built-in crun plugin's source. */
export const CRUN_SOURCE: string =
  new URL("../../../plugins/runtime/builtin/crun/plugin.ts", import.meta.url).pathname;

/** A runtime component running on a {@linkcode RuntimeRig}: its runner and its node-side half. */
export interface RigRuntime {
  runner: Runner;
  host: RuntimeHost;
  /** Removes what the component left running, closes the host, stops the runner. */
  stop(): Promise<void>;
}

/** The node's runtime half for tests; dispose it to remove what it made. */
export interface RuntimeRig extends AsyncDisposable {
  dir: string;
  registry: TestRegistry;
  /** Checks and transpiles a runtime component (cached under the rig's dir). */
  prepare(bytes: Uint8Array): Promise<PluginComponent>;
  /** Starts `plugin`'s component in a runner whose host calls this rig's node serves. */
  start(o: {
    plugin: PluginObject;
    component: PluginComponent;
    settings?: string;
    stateFile: string;
    /** Wraps the node's host call handler (tests that watch or change the plugin's host calls). */
    wrapHostCalls?: (h: HostCallHandler) => HostCallHandler;
    /** The host's pid-file polls (RuntimeHostOptions' `createPollMs`). */
    createPollMs?: number;
  }): Promise<RigRuntime>;
  /** Runs `fn` on dispose (before what the rig made itself). */
  defer(fn: () => Promise<unknown>): void;
}

let n = 0;

/** Opens a rig: temp dir `prefix…`, test registry, mount namespace, image store, cgroup parent. */
export async function openRuntimeRig(prefix: string): Promise<RuntimeRig> {
  const dir = await Deno.makeTempDir({ prefix });
  const cleanups: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true }).catch(() => {})];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error("cleanup:", e));
  };
  try {
    const registry = await startRegistry();
    cleanups.push(() => registry.close());
    // The node's own namespace layout, crun's read-only bind included (node/cri/oci/mod.ts).
    const ns = await MountNamespace.open(`${dir}/oci/ns`, { readOnlyBinaries: readOnlyBinaries() });
    cleanups.push(() => ns.close());
    const client = new RegistryClient({ blobDir: `${dir}/images/blobs` });
    const store = await ImageStore.open({ dir: `${dir}/images`, registry: client });
    const root = `${dir}/oci`;
    const rootfsMode = await overlaySupported(ns, root) ? "overlay" : "copy";
    const cgroupParent = `/skiff/runtimerig${Deno.pid}x${n++}`;
    cleanups.push(() => Promise.resolve(removeCgroups(cgroupParent)));
    const images = new NodeImageService(store);
    const creating = new CreatingContainers();
    const calls = runtimeHostCalls({ root, ns, store, rootfsMode, cgroupParent, images, creating });
    await Deno.mkdir(`${dir}/plugins/state`, { recursive: true });
    return {
      dir,
      registry,
      async prepare(bytes) {
        using cache = new PluginCache(`${dir}/plugins`);
        return await cache.prepare("runtime", bytes);
      },
      async start({ plugin, component, settings = "{}", stateFile, wrapHostCalls = (h) => h, createPollMs }) {
        const name = plugin.metadata.name!;
        const grants = plugin.spec.grants ?? [];
        const runner = await Runner.start({
          config: { plugin: name, kind: "runtime", component, settings, grants, memoryBytes: 64 << 20, stateFile },
          onHostCall: wrapHostCalls(hostCallHandler(plugin, calls.capabilities, calls.imports)),
          onLog: (level, message) => console.error(`${name} ${level}: ${message}`),
        });
        let host: RuntimeHost;
        try {
          host = await RuntimeHost.open(
            { root, ns, store, images, rootfsMode, cgroupParent, createPollMs, creating },
            (op, args, timeoutMs) => runner.call(op, args, timeoutMs ?? 30_000),
          );
        } catch (e) {
          await runner.stop(1000);
          throw e;
        }
        return {
          runner,
          host,
          async stop() {
            // Whatever a failed test left running.
            for (const s of (await host.listPodSandbox().catch(() => [])) as { id: string }[]) {
              await host.removePodSandbox(s.id).catch(() => {});
            }
            await host.close();
            await runner.stop(1000);
          },
        };
      },
      defer: (fn) => cleanups.push(fn),
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** A pod sandbox config as the runtime Plugin takes it: on the node's network, logs under `dir`. */
export function witSandboxConfig(dir: string, name: string, uid = `${name}-uid`) {
  return {
    metadata: { name, uid, namespace: "default", attempt: 0 },
    hostname: name,
    logDirectory: `${dir}/pods/${name}`,
    labels: [],
    annotations: [],
    netns: "",
    ip: undefined,
    podDir: "",
    linux: "{}",
  };
}

/** A container config as the runtime Plugin takes it: `image` running `command`, its log `<name>/0.log`. */
export function witContainerConfig(name: string, image: string, command: string[]) {
  return {
    name,
    attempt: 0,
    image,
    command,
    args: [],
    workingDir: "",
    envs: [],
    mounts: [],
    labels: [],
    annotations: [],
    logPath: `${name}/0.log`,
    linux: "{}",
    stdin: false,
    stdinOnce: false,
    tty: false,
  };
}

export interface CrunPluginHarness extends AsyncDisposable {
  dir: string;
  registry: TestRegistry;
  host: RuntimeHost;
  runner: Runner;
}

/** Builds the component, starts its runner and host (`wrapHostCalls`: see the rig's `start`). */
export async function crunPluginHarness(
  o: { wrapHostCalls?: (h: HostCallHandler) => HostCallHandler; createPollMs?: number } = {},
): Promise<CrunPluginHarness> {
  const rig = await openRuntimeRig("skiff-crun-plugin-");
  try {
    const { bytes } = await buildPlugin({ kind: "runtime", source: CRUN_SOURCE });
    const plugin: PluginObject = {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name: "crun" },
      spec: { kind: "runtime", image: "builtin:crun", grants: CRUN_GRANTS },
    };
    const crun = await rig.start({
      plugin,
      component: await rig.prepare(bytes),
      stateFile: `${rig.dir}/plugins/state/crun.json`,
      wrapHostCalls: o.wrapHostCalls,
      createPollMs: o.createPollMs,
    });
    rig.defer(() => crun.stop());
    return {
      dir: rig.dir,
      registry: rig.registry,
      host: crun.host,
      runner: crun.runner,
      [Symbol.asyncDispose]: () => rig[Symbol.asyncDispose](),
    };
  } catch (e) {
    await rig[Symbol.asyncDispose]();
    throw e;
  }
}
