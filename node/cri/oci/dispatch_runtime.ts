/**
 * The node's RuntimeService when it runs both runtimes, choosing per pod and per container:
 *
 * - handler `wasm` (RuntimeClass `wasm`): the pod is a Wasm sandbox (dense: one network
 *   namespace and sandbox process per Kubernetes namespace); every container must be a Wasm
 *   component.
 * - handler `oci` (the default, no RuntimeClass): the pod gets its own network namespace (an OCI
 *   sandbox). Each container runs by its image's media types: container images through crun,
 *   WebAssembly components on the Wasm runtime — in a sandbox process of their own that runs in
 *   the pod's network namespace and serves on the pod's IP (a "sub-sandbox", hidden from the
 *   kubelet). So a pod may mix both, sharing its IP and its volumes.
 *
 * Sandbox and container IDs are the runtimes' own; ownership is looked up in their records.
 * @module
 */
import {
  type Container,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerFilter,
  type ContainerStatus,
  type DeferredSandbox,
  type ExecRequest,
  LABEL_POD_UID,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeCapabilities,
  RuntimeError,
  type RuntimeService,
  type StreamSession,
} from "../api.ts";
import type { DispatchImageService } from "./dispatch_images.ts";
import type { SeccompBpfCache } from "./seccomp_bpf.ts";

/** Label of a Wasm sub-sandbox: the OCI sandbox it serves. */
export const LABEL_SUB_SANDBOX = "skiff.dev/sub-sandbox";

/**
 * What the dispatcher needs of the OCI runtime: the node's half of the runtime Plugin that
 * drives crun (node/cri/plugin/plugin_oci_runtime.ts).
 */
export type OciDriver =
  & RuntimeService
  & Required<Pick<RuntimeService, "execSync" | "exec" | "attach" | "portForward">>
  & {
    sandbox(id: string): { netns: string; ip?: string } | undefined;
    /** Whether the container is the driver's (its own records; no call). */
    hasContainer?(id: string): boolean;
    /** Seccomp filters crun compiled, handed to later creates with the same profile. */
    readonly seccompFilters: SeccompBpfCache;
    /** `dir`: the driver's state (`containers/<id>/config.json`, ...). */
    readonly opts: { dir: string };
  };

export class DispatchRuntime implements RuntimeService {
  readonly oci?: OciDriver;
  readonly wasm: RuntimeService;
  readonly images: DispatchImageService;
  /** Why container images cannot run here (no crun), when they cannot. */
  readonly ociUnavailable?: string;
  readonly #subLocks = new Map<string, Promise<string>>();
  /** OCI sandboxes whose network is still being set up (`runPodSandboxDeferred`). */
  readonly #pendingNetworks = new Map<string, Promise<void>>();

  constructor(opts: { oci?: OciDriver; wasm: RuntimeService; images: DispatchImageService; ociUnavailable?: string }) {
    this.oci = opts.oci;
    this.wasm = opts.wasm;
    this.images = opts.images;
    this.ociUnavailable = opts.ociUnavailable;
  }

  #ociSandbox(id: string) {
    return this.oci?.sandbox(id);
  }

  async #ociContainer(id: string): Promise<boolean> {
    if (!this.oci) return false;
    if (this.oci.hasContainer) return this.oci.hasContainer(id);
    return (await this.oci.containerStatus(id)) !== null;
  }

  /** The Wasm sub-sandbox of an OCI sandbox, if it has one. */
  async #subSandbox(ociSandboxId: string): Promise<string | undefined> {
    const found = await this.wasm.listPodSandbox({ labelSelector: { [LABEL_SUB_SANDBOX]: ociSandboxId } });
    return found[0]?.id;
  }

  /** Sub-sandbox ID → the OCI sandbox it serves. */
  async #parents(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const s of await this.wasm.listPodSandbox()) {
      const parent = s.labels[LABEL_SUB_SANDBOX];
      if (parent) out.set(s.id, parent);
    }
    return out;
  }

  version() {
    return Promise.resolve({ runtimeName: "skiff", runtimeVersion: "0.1.0", runtimeApiVersion: "v1" });
  }

  capabilities(): RuntimeCapabilities {
    return { exec: !!this.oci, servesPorts: true };
  }

  events(handler: (event: ContainerEvent) => void): () => void {
    const offs = [
      this.wasm.events(async (e) => {
        const parent = (await this.#parents()).get(e.podSandboxId);
        handler(parent ? { ...e, podSandboxId: parent } : e);
      }),
      ...(this.oci ? [this.oci.events(handler)] : []),
    ];
    return () => offs.forEach((off) => off());
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    if (runtimeHandler === "wasm") return await this.wasm.runPodSandbox(config, "wasm");
    if (!this.oci) {
      throw new RuntimeError("CreatePodSandboxError", `no runtime for "${runtimeHandler}": ${this.ociUnavailable}`);
    }
    return await this.oci.runPodSandbox(config, runtimeHandler);
  }

  /**
   * The OCI driver's deferred RunPodSandbox when it has one (a Wasm sandbox, or a driver
   * without, answers with its network ready). A Wasm component created in the sandbox meanwhile
   * waits for the network (its sub-sandbox serves on the pod's IP).
   */
  async runPodSandboxDeferred(config: PodSandboxConfig, runtimeHandler: string): Promise<DeferredSandbox> {
    if (runtimeHandler === "wasm" || !this.oci?.runPodSandboxDeferred) {
      return { id: await this.runPodSandbox(config, runtimeHandler), networkReady: Promise.resolve() };
    }
    const made = await this.oci.runPodSandboxDeferred(config, runtimeHandler);
    const pending = made.networkReady;
    this.#pendingNetworks.set(made.id, pending);
    pending.catch(() => {}).finally(() => this.#pendingNetworks.delete(made.id));
    return made;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    if (!this.#ociSandbox(podSandboxId)) return await this.wasm.stopPodSandbox(podSandboxId);
    const sub = await this.#subSandbox(podSandboxId);
    if (sub) await this.wasm.stopPodSandbox(sub);
    await this.oci!.stopPodSandbox(podSandboxId);
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    if (!this.#ociSandbox(podSandboxId)) return await this.wasm.removePodSandbox(podSandboxId);
    const sub = await this.#subSandbox(podSandboxId);
    if (sub) await this.wasm.removePodSandbox(sub);
    await this.oci!.removePodSandbox(podSandboxId);
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus | null> {
    if (this.#ociSandbox(podSandboxId)) return await this.oci!.podSandboxStatus(podSandboxId);
    return await this.wasm.podSandboxStatus(podSandboxId);
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    const wasm = (await this.wasm.listPodSandbox(filter)).filter((s) => !s.labels[LABEL_SUB_SANDBOX]);
    return [...wasm, ...(this.oci ? await this.oci.listPodSandbox(filter) : [])];
  }

  /** The pod's statuses: the Wasm side as listed, the OCI side in the driver's own few calls. */
  async podStatus(uid: string): Promise<{ sandboxes: PodSandboxStatus[]; containers: ContainerStatus[] }> {
    const selector = { labelSelector: { [LABEL_POD_UID]: uid } };
    const oci = this.oci;
    const [wasm, own] = await Promise.all([
      listedPodStatus(this.wasm, selector, (s) => !s.labels[LABEL_SUB_SANDBOX]),
      oci?.podStatus ? oci.podStatus(uid) : oci ? listedPodStatus(oci, selector, () => true) : undefined,
    ]);
    return {
      sandboxes: [...wasm.sandboxes, ...(own?.sandboxes ?? [])],
      containers: [
        ...wasm.containers.map((w) => ({ ...w, runtimeName: w.runtimeName ?? "wasm" })),
        ...(own?.containers ?? []),
      ],
    };
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const image = config.image.image;
    const kind = this.images.kind(image);
    const oci = this.#ociSandbox(podSandboxId);
    if (!oci) {
      if (kind === "container") {
        throw new RuntimeError(
          "CreateContainerError",
          `${image} is an OCI container image; pods of RuntimeClass "wasm" run only WebAssembly components ` +
            `(run it without a RuntimeClass, or with RuntimeClass "oci")`,
        );
      }
      return await this.wasm.createContainer(podSandboxId, config, sandboxConfig);
    }
    if (kind === "wasm") {
      if (!oci.netns) {
        throw new RuntimeError(
          "CreateContainerError",
          `${image} is a WebAssembly component; it cannot run in a hostNetwork pod (see docs/containers.md)`,
        );
      }
      await this.#pendingNetworks.get(podSandboxId);
      const sub = await this.#ensureSubSandbox(podSandboxId, sandboxConfig);
      return await this.wasm.createContainer(sub, config, sandboxConfig);
    }
    return await this.oci!.createContainer(podSandboxId, config, sandboxConfig);
  }

  /** The Wasm sandbox that runs a mixed pod's components in the pod's network namespace. */
  #ensureSubSandbox(podSandboxId: string, sandboxConfig: PodSandboxConfig): Promise<string> {
    let p = this.#subLocks.get(podSandboxId);
    if (!p) {
      p = (async () => {
        const existing = await this.#subSandbox(podSandboxId);
        if (existing) return existing;
        // The Wasm runtime names a group's network namespace `<prefix><group>` and takes the group
        // from the namespace: the part of the OCI sandbox's namespace name from its `_` on
        // (`_<sandbox ID>` for the built-in driver, `_<key>` for a runtime Plugin's) makes it the
        // OCI sandbox's own namespace.
        const netns = this.#ociSandbox(podSandboxId)?.netns ?? "";
        const group = netns.includes("_") ? netns.slice(netns.indexOf("_")) : `_${podSandboxId}`;
        return await this.wasm.runPodSandbox({
          ...sandboxConfig,
          metadata: { ...sandboxConfig.metadata, namespace: group },
          labels: { ...sandboxConfig.labels, [LABEL_SUB_SANDBOX]: podSandboxId },
        }, "wasm");
      })().finally(() => this.#subLocks.delete(podSandboxId));
      this.#subLocks.set(podSandboxId, p);
    }
    return p;
  }

  async startContainer(containerId: string): Promise<void> {
    if (await this.#ociContainer(containerId)) return await this.oci!.startContainer(containerId);
    await this.wasm.startContainer(containerId);
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    if (await this.#ociContainer(containerId)) return await this.oci!.stopContainer(containerId, timeoutSeconds);
    await this.wasm.stopContainer(containerId, timeoutSeconds);
  }

  async removeContainer(containerId: string): Promise<void> {
    if (await this.#ociContainer(containerId)) return await this.oci!.removeContainer(containerId);
    await this.wasm.removeContainer(containerId);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus | null> {
    const s = this.oci ? await this.oci.containerStatus(containerId) : null;
    if (s) return s;
    const w = await this.wasm.containerStatus(containerId);
    return w ? { ...w, runtimeName: w.runtimeName ?? "wasm" } : null;
  }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    const parents = await this.#parents();
    let wasmFilter = filter;
    if (filter.podSandboxId && this.#ociSandbox(filter.podSandboxId)) {
      const sub = [...parents].find(([, p]) => p === filter.podSandboxId)?.[0];
      wasmFilter = sub ? { ...filter, podSandboxId: sub } : { ...filter, podSandboxId: "\0none" };
    }
    const wasm = (await this.wasm.listContainers(wasmFilter)).map((c) => {
      const parent = parents.get(c.podSandboxId);
      return parent ? { ...c, podSandboxId: parent } : c;
    });
    return [...wasm, ...(this.oci ? await this.oci.listContainers(filter) : [])];
  }

  async #ociOrRefuse(containerId: string, what: string): Promise<OciDriver> {
    if (await this.#ociContainer(containerId)) return this.oci!;
    if (await this.wasm.containerStatus(containerId)) {
      throw new RuntimeError("Unsupported", `${what} is not supported for WebAssembly containers`);
    }
    throw new RuntimeError("NotFound", `container ${containerId} does not exist`);
  }

  async execSync(containerId: string, cmd: string[], timeoutMs: number) {
    return await (await this.#ociOrRefuse(containerId, "exec")).execSync(containerId, cmd, timeoutMs);
  }

  async exec(containerId: string, req: ExecRequest): Promise<StreamSession> {
    return await (await this.#ociOrRefuse(containerId, "exec")).exec(containerId, req);
  }

  async attach(containerId: string, opts: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    return await (await this.#ociOrRefuse(containerId, "attach")).attach(containerId, opts);
  }

  async portForward(podSandboxId: string, port: number): Promise<Deno.Conn> {
    if (this.#ociSandbox(podSandboxId)) return await this.oci!.portForward(podSandboxId, port);
    const s = await this.wasm.podSandboxStatus(podSandboxId);
    if (!s?.network?.ip || s.state !== "SANDBOX_READY") {
      throw new RuntimeError("NotFound", `pod sandbox ${podSandboxId} is not ready`);
    }
    return await Deno.connect({ hostname: s.network.ip, port });
  }
}

/** A runtime's statuses of the sandboxes (those `keep` keeps) and containers matching `filter`. */
async function listedPodStatus(
  rt: RuntimeService,
  filter: PodSandboxFilter & ContainerFilter,
  keep: (s: PodSandbox) => boolean,
): Promise<{ sandboxes: PodSandboxStatus[]; containers: ContainerStatus[] }> {
  const sandboxes = await Promise.all(
    (await rt.listPodSandbox(filter)).filter(keep).map((s) => rt.podSandboxStatus(s.id)),
  );
  const containers = await Promise.all((await rt.listContainers(filter)).map((c) => rt.containerStatus(c.id)));
  return {
    sandboxes: sandboxes.filter((s) => s !== null),
    containers: containers.filter((c) => c !== null),
  };
}

export { LABEL_POD_UID };
