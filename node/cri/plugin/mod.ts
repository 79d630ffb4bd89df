/**
 * OCI containers through the node's runtime Plugin (the built-in `crun` component unless a
 * user's Plugin of kind `runtime` applies to the node): {@linkcode pluginOciRuntime} wires the
 * plugin's host calls (`host-process` in the agent's mount namespace, `node-images` over the
 * node's image store), waits for the plugin to load, and returns the CRI RuntimeService the
 * dispatcher uses in place of the built-in driver.
 * @module
 */
import type { NetworkPlugin } from "../../cni/api.ts";
import type { ImageStore } from "../../images/image_store.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import type { NodePlugins } from "../../plugins.ts";
import type { RootfsMode } from "../oci/rootfs.ts";
import { SeccompBpfCache } from "../oci/seccomp_bpf.ts";
import { PluginOciRuntime } from "./plugin_oci_runtime.ts";
import { RuntimeHost, runtimeHostCalls } from "./runtime_host.ts";
import { CreatingContainers } from "./creating_containers.ts";
import { NodeImageService } from "./node_image_service.ts";

export interface PluginOciRuntimeSettings {
  /** `<data-dir>/oci`: the plugin's root (crun state, exits, bundles, sandboxes). */
  dir: string;
  ns: MountNamespace;
  network: NetworkPlugin;
  images: ImageStore;
  netnsPrefix: string;
  cgroupParent: string;
  pidsLimit?: number;
  rootfsMode: RootfsMode;
  plugins?: NodePlugins;
  loadTimeoutMs?: number;
}

/** The OCI runtime of a node whose containers a runtime Plugin drives. Throws when it cannot. */
export async function pluginOciRuntime(s: PluginOciRuntimeSettings): Promise<PluginOciRuntime> {
  const plugins = s.plugins;
  if (!plugins) throw new Error("the OCI driver is a runtime Plugin, but this node agent loads no Plugins");
  const until = Date.now() + (s.loadTimeoutMs ?? 60_000);
  let name = plugins.runtime();
  // The built-in's Plugin object is created by the control plane at start: it may come later.
  while (!name && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    name = plugins.runtime();
  }
  if (!name) {
    throw new Error("the OCI driver is a runtime Plugin, but no Plugin of kind runtime applies to this node");
  }
  const seccompFilters = new SeccompBpfCache();
  const images = new NodeImageService(s.images);
  const creating = new CreatingContainers();
  plugins.provide(
    "runtime",
    runtimeHostCalls({
      root: s.dir,
      ns: s.ns,
      store: s.images,
      rootfsMode: s.rootfsMode,
      cgroupParent: s.cgroupParent,
      pidsLimit: s.pidsLimit,
      seccompFilters,
      images,
      creating,
    }),
  );
  const missing = await plugins.waitLoaded(["runtime"], Math.max(0, until - Date.now()));
  if (missing.includes(name)) throw new Error(`the runtime Plugin "${name}" did not load`);
  const host = await RuntimeHost.open(
    {
      root: s.dir,
      ns: s.ns,
      store: s.images,
      images,
      rootfsMode: s.rootfsMode,
      cgroupParent: s.cgroupParent,
      seccompFilters,
      creating,
    },
    (op, args) => plugins.call(name, op, args),
  );
  const rt = await PluginOciRuntime.open({
    dir: s.dir,
    host,
    ns: s.ns,
    network: s.network,
    store: s.images,
    netnsPrefix: s.netnsPrefix,
    cgroupParent: s.cgroupParent,
    plugin: name,
  });
  images.inUse = () => rt.imagesInUse();
  return rt;
}
