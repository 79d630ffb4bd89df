/**
 * Test helpers for the runtime plugin path: the built-in `crun` component in a real runner
 * process (as a node runs it), with its node-side half ({@linkcode RuntimeHost}) over a private
 * mount namespace, image store and test registry; torn down on dispose.
 * @module
 */
import type { PluginObject } from "../../../control/api/plugins.ts";
import { buildPlugin } from "../../../plugins/host/build.ts";
import { hostCallHandler } from "../../../plugins/host/host_calls.ts";
import { PluginCache } from "../../../plugins/host/prepare.ts";
import { Runner } from "../../../plugins/host/runner_client.ts";
import { startRegistry, type TestRegistry } from "../../../tests/registry.ts";
import { ImageStore } from "../../images/image_store.ts";
import { MountNamespace } from "../../mountns/mount_ns.ts";
import { RegistryClient } from "../../registry/mod.ts";
import { removeCgroups } from "../oci/cgroups.ts";
import { overlaySupported } from "../oci/rootfs.ts";
import { CRUN_GRANTS, RuntimeHost, runtimeHostCalls } from "./runtime_host.ts";
import { storeImages } from "./store_images.ts";

/** The built-in crun plugin's source. */
export const CRUN_SOURCE: string =
  new URL("../../../plugins/runtime/builtin/crun/plugin.ts", import.meta.url).pathname;

export interface CrunPluginHarness extends AsyncDisposable {
  dir: string;
  registry: TestRegistry;
  host: RuntimeHost;
  runner: Runner;
}

let n = 0;

/** Builds the component, starts its runner and host. */
export async function crunPluginHarness(): Promise<CrunPluginHarness> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-crun-plugin-" });
  const cleanups: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true }).catch(() => {})];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error("cleanup:", e));
  };
  try {
    const registry = await startRegistry();
    cleanups.push(() => registry.close());
    const ns = await MountNamespace.open(`${dir}/oci/ns`);
    cleanups.push(() => ns.close());
    const client = new RegistryClient({ blobDir: `${dir}/images/blobs` });
    const store = await ImageStore.open({ dir: `${dir}/images`, registry: client });
    const root = `${dir}/oci`;
    const rootfsMode = await overlaySupported(ns, root) ? "overlay" : "copy";
    const cgroupParent = `/skiff/crunplugin${Deno.pid}x${n++}`;
    cleanups.push(() => Promise.resolve(removeCgroups(cgroupParent)));
    const { bytes } = await buildPlugin({ kind: "runtime", source: CRUN_SOURCE });
    using cache = new PluginCache(`${dir}/plugins`);
    const component = await cache.prepare("runtime", bytes);
    const plugin: PluginObject = {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name: "crun" },
      spec: { kind: "runtime", image: "builtin:crun", grants: CRUN_GRANTS },
    };
    const calls = runtimeHostCalls({ root, ns, store, rootfsMode, cgroupParent });
    await Deno.mkdir(`${dir}/plugins/state`, { recursive: true });
    const runner = await Runner.start({
      config: {
        plugin: "crun",
        kind: "runtime",
        component,
        settings: "{}",
        grants: CRUN_GRANTS,
        memoryBytes: 64 << 20,
        stateFile: `${dir}/plugins/state/crun.json`,
      },
      onHostCall: hostCallHandler(plugin, calls.capabilities, calls.imports),
      onLog: (level, message) => console.error(`crun plugin ${level}: ${message}`),
    });
    cleanups.push(() => runner.stop(1000));
    const host = await RuntimeHost.open(
      { root, ns, store, images: storeImages(store, client), rootfsMode, cgroupParent },
      (op, args, timeoutMs) => runner.call(op, args, timeoutMs ?? 30_000),
    );
    cleanups.push(async () => {
      // Whatever a failed test left running.
      for (const s of (await host.listPodSandbox().catch(() => [])) as { id: string }[]) {
        await host.removePodSandbox(s.id).catch(() => {});
      }
      await host.close();
    });
    return { dir, registry, host, runner, [Symbol.asyncDispose]: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
