/**
 * The node's runtimes together: OCI containers through crun (this folder) and WebAssembly
 * components (`../wasm`), behind one RuntimeService and one ImageService (dispatch_*.ts).
 * `nodeRuntime()` makes the factory the agent calls once the network exists:
 *
 * - with crun and conmon installed: handlers `oci` (the default for pods without a RuntimeClass;
 *   containers run by their image's media type) and `wasm`. crun is driven by the node's
 *   `runtime` Plugin (the built-in `crun` component unless a user's applies), with the node's
 *   half in node/cri/plugin/;
 * - without them, or without a runtime Plugin that loads: handler `wasm` only, as a Wasm-only
 *   node, and the node condition `OCIRuntimeUnavailable=True` saying why.
 *
 * State under the data dir: `oci/` (mount namespace, sandboxes, bundles, exits, crun state),
 * `images/` (layers, image table, blobs), and the Wasm runtime's `runtime/` and `wasm/`.
 *
 * @example
 * ```ts ignore
 * const agent = await startNodeAgent({ server, dataDir, runtime: nodeRuntime() });
 * ```
 * @module
 */
import type { NodeRuntime, RuntimeContext } from "../../agent.ts";
import type { CniRequest, CniResult, NetworkPlugin } from "../../cni/api.ts";
import { ImageStore } from "../../images/image_store.ts";
import { hybridCgroups, MountNamespace } from "../../mountns/mount_ns.ts";
import { RegistryClient } from "../../registry/mod.ts";
import { WasmImageService } from "../wasm/image_service.ts";
import { netnsPrefixFor, wasmRuntime, type WasmRuntimeSettings } from "../wasm/mod.ts";
import { ociToolsMissing, readOnlyBinaries } from "./crun.ts";
import { DispatchImageService } from "./dispatch_images.ts";
import { DispatchRuntime } from "./dispatch_runtime.ts";
import { HANDLER, RUNTIME_NAME } from "../../../plugins/runtime/oci/records.ts";
import { PLUGIN_RUNTIME_VERSION as RUNTIME_VERSION } from "../plugin/plugin_oci_runtime.ts";
import { overlaySupported, type RootfsMode } from "./rootfs.ts";
import { pluginOciRuntime } from "../plugin/mod.ts";
import { PluginImages } from "../plugin/plugin_images.ts";
import type { PluginOciRuntime } from "../plugin/plugin_oci_runtime.ts";

export interface NodeRuntimeSettings {
  wasm?: WasmRuntimeSettings;
  /** Per-container pids limit (default 4096). */
  pidsLimit?: number;
  /** Force the rootfs mode (default: overlay when it works, else copy). */
  rootfsMode?: RootfsMode;
  /** Image garbage collection: disk use above `highPercent` (85) removes unused images down to `lowPercent` (80). */
  imageGc?: { highPercent?: number; lowPercent?: number; intervalMs?: number };
  /** Pretend crun is missing (tests of the Wasm-only fallback). */
  disableOci?: boolean;
  /** How long to wait for the runtime Plugin (the OCI driver) to load (default 60 s). */
  pluginLoadTimeoutMs?: number;
}

/** A node condition a runtime reports. */
export interface RuntimeCondition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
}

export const OCI_CONDITION = "OCIRuntimeUnavailable";

/**
 * The network the Wasm runtime sees: a Wasm sub-sandbox of a mixed pod "attaches" to the OCI
 * sandbox's namespace, where the pod already has its address, so it gets that address and
 * nothing is created or released for it.
 */
function wasmNetwork(
  network: NetworkPlugin & { detachNamespace?(netns: string): Promise<void> },
  borrowed: (netns: string) => string | undefined,
): NetworkPlugin & { detachNamespace(netns: string): Promise<void> } {
  return {
    add(req: CniRequest): Promise<CniResult> {
      const ip = borrowed(req.netns);
      if (!ip) return network.add(req);
      const bits = (network as { podCIDR?: string }).podCIDR?.split("/")[1] ?? "32";
      return Promise.resolve({
        cniVersion: "1.0.0",
        interfaces: [{ name: req.ifName, sandbox: req.netns }],
        ips: [{ address: `${ip}/${bits}`, interface: 0 }],
        routes: [],
        dns: {},
      });
    },
    del: (req) => borrowed(req.netns) ? Promise.resolve() : network.del(req),
    check: (req) => network.check(req),
    status: () => network.status(),
    detachNamespace: (netns) => borrowed(netns) ? Promise.resolve() : network.detachNamespace?.(netns) ?? Promise.resolve(),
  };
}

/** The factory of the node's runtimes, for `NodeAgentOptions.runtime`. */
export function nodeRuntime(settings: NodeRuntimeSettings = {}): (ctx: RuntimeContext) => Promise<NodeRuntime & {
  conditions(): RuntimeCondition[];
}> {
  return async (ctx) => {
    const netnsPrefix = netnsPrefixFor(ctx.dataDir);
    const registry = new RegistryClient({ blobDir: `${ctx.dataDir}/images/blobs` });
    let missing = settings.disableOci ? "the OCI runtime is disabled on this node" : ociToolsMissing();
    let ns: MountNamespace | undefined;
    let oci: PluginOciRuntime | undefined;
    let store: ImageStore | undefined;
    if (!missing) {
      try {
        ns = await MountNamespace.open(`${ctx.dataDir}/oci/ns`, { readOnlyBinaries: readOnlyBinaries() });
        const mode = settings.rootfsMode ?? (await overlaySupported(ns, `${ctx.dataDir}/oci`) ? "overlay" : "copy");
        store = await ImageStore.open({ dir: `${ctx.dataDir}/images`, registry });
        oci = await pluginOciRuntime({
          dir: `${ctx.dataDir}/oci`,
          ns,
          network: ctx.network,
          images: store,
          netnsPrefix,
          cgroupParent: `/skiff/${netnsPrefix.replace(/-$/, "")}`,
          pidsLimit: settings.pidsLimit,
          rootfsMode: mode,
          plugins: ctx.plugins,
          loadTimeoutMs: settings.pluginLoadTimeoutMs,
        });
      } catch (e) {
        missing = `the OCI runtime could not start: ${(e as Error).message}`;
        await ns?.close().catch(() => {});
        oci = undefined;
      }
    }
    const network = wasmNetwork(
      ctx.network as NetworkPlugin & { detachNamespace?(netns: string): Promise<void> },
      (path) => oci?.sandboxForNetns(path)?.ip,
    );
    const wasm = await wasmRuntime(settings.wasm)({ ...ctx, network });
    if (!oci) {
      if (!missing) missing = "the OCI runtime is not available";
      console.error(`skiff: ${missing}; this node runs WebAssembly pods only`);
      return {
        ...wasm,
        conditions: () => [{ type: OCI_CONDITION, status: "True", reason: "CrunNotAvailable", message: missing! }],
      };
    }
    const wasmImages = (wasm.images as WasmImageService);
    // Container images through the runtime Plugin's image-service (plugin_images.ts).
    const pluginImages = new PluginImages(oci.opts.host, store!);
    const images = new DispatchImageService(store!, wasmImages, registry, pluginImages);
    const runtime = new DispatchRuntime({ oci, wasm: wasm.runtime, images });
    // Image garbage collection: after pulls, and periodically.
    const gc = settings.imageGc ?? {};
    let collecting: Promise<unknown> | undefined;
    const collect = () => {
      collecting ??= store!.garbageCollect(oci!.imagesInUse(), gc)
        .then((removed) => {
          if (removed.length) console.error(`skiff: image garbage collection removed ${removed.join(", ")}`);
        })
        .catch((e) => console.error("skiff: image garbage collection failed:", e))
        .finally(() => collecting = undefined);
    };
    images.onPulled = collect;
    const timer = setInterval(collect, gc.intervalMs ?? 5 * 60_000);
    Deno.unrefTimer(timer);
    const hybrid = hybridCgroups();
    return {
      runtime,
      images,
      handlers: [HANDLER, "wasm"],
      version: `${RUNTIME_NAME}://${RUNTIME_VERSION}`,
      sharedNetns: wasm.sharedNetns?.bind(wasm),
      conditions: () => [{
        type: OCI_CONDITION,
        status: "False",
        reason: "CrunReady",
        message: `crun runs containers in the agent's mount namespace${hybrid ? " (cgroup2 unmounted there)" : ""}, driven by the runtime Plugin "${oci.plugin}"`,
      }],
      async close(opts) {
        clearInterval(timer);
        await collecting;
        await oci!.close(opts);
        await wasm.close(opts);
        // The spawner always stops; the namespace stays for the next agent with `keepPods`.
        if (!opts.keepPods) await ns!.close();
        else await ns!.release();
      },
    };
  };
}

export { DispatchImageService, DispatchRuntime };
