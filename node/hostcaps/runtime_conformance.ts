/**
 * The runtime conformance suite's environment (plugins/runtime/conformance.ts) on this machine:
 * a runtime component run as node agents run it — in a runner, its `host-process` and
 * `node-images` calls served by the node ({@linkcode runtimeHostCalls}), with the node's half
 * ({@linkcode RuntimeHost}: waits, exits, images) over a private mount namespace, an image store
 * and a test registry holding busybox. Used by `./skiff plugin test` for runtime plugins and by
 * tests/plugins_authoring_test.ts. Needs root, crun, conmon, docker-registry and busybox-static
 * (`OCI_PREREQUISITES`).
 * @module
 */
import type { Grant, PluginObject } from "../../control/api/plugins.ts";
import type { Case, NewImpl } from "../../plugins/host/conformance.ts";
import { hostCallHandler } from "../../plugins/host/host_calls.ts";
import { PluginCache } from "../../plugins/host/prepare.ts";
import { Runner } from "../../plugins/host/runner_client.ts";
import { runtimeCases } from "../../plugins/runtime/conformance.ts";
import { busyboxImage, pushImage } from "../../tests/fixtures/oci/images.ts";
import { startRegistry } from "../../tests/registry.ts";
import { ImageStore } from "../images/image_store.ts";
import { MountNamespace } from "../mountns/mount_ns.ts";
import { RegistryClient } from "../registry/mod.ts";
import { removeCgroups } from "../cri/oci/cgroups.ts";
import { overlaySupported } from "../cri/oci/rootfs.ts";
import { CRUN_GRANTS, RuntimeHost, runtimeHostCalls } from "../cri/plugin/runtime_host.ts";
import { storeImages } from "../cri/plugin/store_images.ts";

/** The suite for a runtime component, with its environment; dispose it to remove what it made. */
export interface RuntimeSuite extends AsyncDisposable {
  cases: Case[];
  newImpl: NewImpl;
}

let n = 0;

/**
 * Starts the environment for a runtime component's bytes. `grants` default to the built-in
 * `crun`'s (`host-process` for /usr/bin/crun and /usr/bin/conmon, `state`, `log`).
 */
export async function runtimeSuite(
  bytes: () => Promise<Uint8Array>,
  opts: { name?: string; grants?: Grant[] } = {},
): Promise<RuntimeSuite> {
  const name = opts.name ?? "under-test";
  const grants = opts.grants ?? CRUN_GRANTS;
  const dir = await Deno.makeTempDir({ prefix: "skiff-runtime-conformance-" });
  const cleanups: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error("cleanup:", e));
  };
  try {
    const registry = await startRegistry();
    cleanups.push(() => registry.close());
    const image =
      (await pushImage(registry.host, "conformance/busybox", "1", await busyboxImage())).reference;
    const ns = await MountNamespace.open(`${dir}/oci/ns`);
    cleanups.push(() => ns.close());
    const client = new RegistryClient({ blobDir: `${dir}/images/blobs` });
    const store = await ImageStore.open({ dir: `${dir}/images`, registry: client });
    const root = `${dir}/oci`;
    const rootfsMode = await overlaySupported(ns, root) ? "overlay" : "copy";
    const cgroupParent = `/skiff/runtimeconf${Deno.pid}x${n++}`;
    cleanups.push(() => Promise.resolve(removeCgroups(cgroupParent)));
    const component = await (async () => {
      using cache = new PluginCache(`${dir}/plugins`);
      return await cache.prepare("runtime", await bytes());
    })();
    const plugin: PluginObject = {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name },
      spec: { kind: "runtime", image: "conformance:under-test", grants },
    };
    const calls = runtimeHostCalls({ root, ns, store, rootfsMode, cgroupParent });
    await Deno.mkdir(`${dir}/plugins/state`, { recursive: true });
    let impl = 0;
    const newImpl: NewImpl = async (settings = "{}") => {
      // A fresh runner and state store per case, over the same node (as a Plugin's new generation).
      const runner = await Runner.start({
        config: {
          plugin: name,
          kind: "runtime",
          component,
          settings,
          grants,
          memoryBytes: 64 << 20,
          stateFile: `${dir}/plugins/state/${name}-${impl++}.json`,
        },
        onHostCall: hostCallHandler(plugin, calls.capabilities, calls.imports),
        onLog: (level, message) => console.error(`${name} ${level}: ${message}`),
      });
      let host: RuntimeHost;
      try {
        host = await RuntimeHost.open(
          { root, ns, store, images: storeImages(store, client), rootfsMode, cgroupParent },
          (op, args, timeoutMs) => runner.call(op, args, timeoutMs ?? 30_000),
        );
      } catch (e) {
        await runner.stop(1000);
        throw e;
      }
      const verbs = host as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return {
        image,
        logDirectory: `${dir}/pods/default_p_uid-1`,
        call: (op: string, ...args: unknown[]) => {
          if (typeof verbs[op] !== "function") return Promise.reject(new Error(`no runtime verb ${op}`));
          return verbs[op](...args);
        },
        async [Symbol.asyncDispose]() {
          // Whatever a failed case left running.
          for (const s of (await host.listPodSandbox().catch(() => [])) as { id: string }[]) {
            await host.removePodSandbox(s.id).catch(() => {});
          }
          await host.close();
          await runner.stop(1000);
        },
      };
    };
    return { cases: runtimeCases, newImpl, [Symbol.asyncDispose]: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
