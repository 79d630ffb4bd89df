/**
 * The pod half of the node agent: informers for the node's pods (and the ConfigMaps, Secrets and
 * RuntimeClasses they use), one serialized worker per pod, and the three things a worker does as
 * the kubelet's pod lifecycle: sync a pod that should run, terminate a pod being deleted (stop
 * it within its grace period, post its final status, then delete the object with
 * `gracePeriodSeconds=0` and a UID precondition), and clean up after a pod that is gone (remove
 * containers and sandboxes, release its IP, volumes and logs). Everything is event driven:
 * informer events, runtime container events, probe result changes and back-off expiries.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { type Client, R } from "../../control/api/client.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import { Informer } from "../../control/api/informer.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";
import type { ImageService, RuntimeService } from "../cri/api.ts";
import { ProberManager } from "../probes/prober_manager.ts";
import { MountError, VolumeManager } from "../volumes/volume_manager.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { envLookups, podReferences, volumeLookups } from "./config_sources.ts";
import { generatePodStatus, type StartFailure } from "./pod_status.ts";
import { killPod, runtimePodStatus, type SyncContext, syncPod } from "./pod_sync.ts";
import { PodWorkers, type SyncResult } from "./pod_workers.ts";
import type { RuntimePodStatus } from "./runtime_pod.ts";
import { podLogDirName } from "./sandbox_config.ts";
import { StatusManager } from "./status_manager.ts";

export interface KubeletOptions {
  client: Client;
  nodeName: string;
  hostIP: string;
  runtime: RuntimeService;
  images: ImageService;
  /** Runtime handlers this node serves; the first is used for pods without a RuntimeClass. */
  handlers: string[];
  /** Logs go to `<dataDir>/pods`, volumes to `<dataDir>/kubelet/pods`. */
  dataDir: string;
  recorder: EventRecorder;
  allocatable(): Record<string, string>;
  /** Crash-loop and image-pull back-off (default 10 s doubling to 5 min). */
  backoff?: BackoffOptions;
  now?: () => number;
}

interface PodState {
  pod?: Pod;
  startFailures: Map<string, StartFailure>;
}

const TERMINAL = new Set(["Succeeded", "Failed"]);

function decodeDockerConfig(secret: KubeObject | undefined): unknown | undefined {
  const raw = secret?.data?.[".dockerconfigjson"] ?? secret?.data?.[".dockercfg"];
  if (!raw) return undefined;
  try {
    return JSON.parse(atob(raw));
  } catch {
    return undefined;
  }
}

export class Kubelet implements AsyncDisposable {
  readonly pods: Informer<KubeObject>;
  readonly configMaps: Informer<KubeObject>;
  readonly secrets: Informer<KubeObject>;
  readonly runtimeClasses: Informer<KubeObject>;
  readonly volumes: VolumeManager;
  readonly probes: ProberManager;
  readonly status: StatusManager;
  readonly logRoot: string;
  readonly #opts: KubeletOptions;
  readonly #byUid = new Map<string, Pod>();
  readonly #states = new Map<string, PodState>();
  readonly #workers: PodWorkers;
  readonly #backoff: Backoff;
  readonly #imageBackoff: Backoff;
  #unsubscribe: (() => void) | null = null;
  #now: () => number;

  constructor(opts: KubeletOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    const c = opts.client;
    this.pods = new Informer(c, R.pods, { fieldSelector: `spec.nodeName=${opts.nodeName}` });
    this.configMaps = new Informer(c, R.configmaps);
    this.secrets = new Informer(c, R.secrets);
    this.runtimeClasses = new Informer(c, R.runtimeclasses);
    this.volumes = new VolumeManager(`${opts.dataDir}/kubelet`);
    this.logRoot = `${opts.dataDir}/pods`;
    this.status = new StatusManager(c);
    this.#backoff = new Backoff(opts.backoff);
    this.#imageBackoff = new Backoff(opts.backoff);
    this.#workers = new PodWorkers((uid) => this.#syncWorker(uid));
    this.probes = new ProberManager({
      onChange: (uid) => this.#workers.update(uid),
      event: (pod, type, reason, message) => this.#event(pod, type, reason, message),
      now: this.#now,
    });
  }

  /** Pods this node runs, by UID. */
  podByUid(uid: string): Pod | undefined {
    return this.#byUid.get(uid);
  }

  /** Starts the informers, waits for them, then syncs every pod (and cleans up orphans). */
  async start(): Promise<void> {
    this.pods.addHandler({
      onAdd: (p) => this.#podChanged(p as Pod),
      onUpdate: (old, p) => {
        if (old.metadata.uid !== p.metadata.uid) this.#podGone(old as Pod);
        this.#podChanged(p as Pod);
      },
      onDelete: (p) => this.#podGone(p as Pod),
    });
    const touched = (kind: "configMaps" | "secrets") => (obj: KubeObject) => {
      for (const [uid, pod] of this.#byUid) {
        if (pod.metadata?.namespace !== obj.metadata.namespace) continue;
        if (podReferences(pod)[kind].has(obj.metadata.name!)) this.#workers.update(uid);
      }
    };
    for (const [inf, kind] of [[this.configMaps, "configMaps"], [this.secrets, "secrets"]] as const) {
      inf.addHandler({ onAdd: touched(kind), onUpdate: (_, o) => touched(kind)(o), onDelete: touched(kind) });
    }
    this.#unsubscribe = this.#opts.runtime.events((e) => this.#workers.update(e.podUid));
    for (const inf of [this.configMaps, this.secrets, this.runtimeClasses, this.pods]) inf.start();
    await Promise.all([this.configMaps, this.secrets, this.runtimeClasses, this.pods].map((i) => i.synced()));
    // Sandboxes and volumes of pods that were deleted while the agent was away.
    const known = new Set(this.#byUid.keys());
    for (const s of await this.#opts.runtime.listPodSandbox()) {
      if (!known.has(s.metadata.uid)) this.#workers.update(s.metadata.uid);
    }
    for (const uid of await this.volumes.knownPods()) if (!known.has(uid)) this.#workers.update(uid);
  }

  /**
   * Stops the informers and workers. With `stopPods` the node is being shut down: the runtime
   * is closed by the agent (which stops every sandbox at once), and the pods' logs and volume
   * directories are removed here; without, pods keep running for the next agent.
   */
  async stop(opts: { stopPods: boolean }): Promise<void> {
    await Promise.all([this.pods, this.configMaps, this.secrets, this.runtimeClasses].map((i) => i.stop()));
    this.#unsubscribe?.();
    await this.#workers.close();
    this.probes.close();
    if (!opts.stopPods) return;
    await Deno.remove(this.logRoot, { recursive: true }).catch(() => {});
    for (const uid of await this.volumes.knownPods()) await this.volumes.tearDown(uid);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ stopPods: true });
  }

  /** The runtime state of a pod (for the log endpoint). */
  runtimeStatus(uid: string): Promise<RuntimePodStatus> {
    return runtimePodStatus(this.#opts.runtime, uid);
  }

  #podChanged(pod: Pod) {
    this.#byUid.set(pod.metadata!.uid!, pod);
    this.#workers.update(pod.metadata!.uid!);
  }

  #podGone(pod: Pod) {
    this.#byUid.delete(pod.metadata!.uid!);
    this.#workers.update(pod.metadata!.uid!);
  }

  #event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string) {
    this.#opts.recorder.event(
      { ...(pod as KubeObject), kind: "Pod", apiVersion: "v1" },
      type,
      reason,
      message,
    );
  }

  #state(uid: string): PodState {
    let s = this.#states.get(uid);
    if (!s) this.#states.set(uid, s = { startFailures: new Map() });
    return s;
  }

  /** The runtime handler for the pod's RuntimeClass; throws with the reason when there is none here. */
  #handlerFor(pod: Pod): string {
    const rc = pod.spec?.runtimeClassName;
    if (!rc) return this.#opts.handlers[0];
    const cls = this.runtimeClasses.get(undefined, rc);
    if (!cls) throw new Error(`RuntimeClass "${rc}" not found`);
    const handler = cls.handler as string;
    if (!this.#opts.handlers.includes(handler)) {
      throw new Error(
        `no runtime for "${handler}" is configured on node ${this.#opts.nodeName} (it has: ${
          this.#opts.handlers.join(", ")
        })`,
      );
    }
    return handler;
  }

  async #syncWorker(uid: string): Promise<SyncResult | void> {
    const pod = this.#byUid.get(uid);
    const state = this.#state(uid);
    if (!pod) return await this.#cleanUp(uid, state);
    state.pod = pod;
    if (pod.metadata?.deletionTimestamp) return await this.#terminate(pod, state);
    if (TERMINAL.has(pod.status?.phase ?? "")) {
      // Finished for good: make sure nothing runs; the status stays as it is.
      const rs = await this.runtimeStatus(uid);
      if (
        rs.containers.some((c) => c.state === "CONTAINER_RUNNING") ||
        rs.sandboxes.some((s) => s.state === "SANDBOX_READY")
      ) {
        await killPod(this.#opts.runtime, this.#opts.recorder, pod, rs, 0);
      }
      this.probes.removePod(uid);
      return;
    }
    return await this.#sync(pod, state);
  }

  #generate(pod: Pod, state: PodState, rs: RuntimePodStatus, terminal: boolean) {
    return generatePodStatus(pod, {
      runtime: rs,
      startFailures: state.startFailures,
      readiness: this.probes.readiness,
      startup: this.probes.startup,
      hostIP: this.#opts.hostIP,
      terminal,
      now: this.#now(),
      runtimeName: this.#opts.handlers[0],
    });
  }

  async #sync(pod: Pod, state: PodState): Promise<SyncResult> {
    const uid = pod.metadata!.uid!;
    const { configMaps, secrets } = this;
    let handler: string;
    try {
      handler = this.#handlerFor(pod);
    } catch (e) {
      this.#event(
        pod,
        "Warning",
        "FailedCreatePodSandBox",
        `Failed to create pod sandbox: ${(e as Error).message}`,
      );
      await this.status.setStatus(pod, this.#generate(pod, state, await this.runtimeStatus(uid), false));
      return { requeueAfterMs: this.#retryDelay(`${uid}/handler`) };
    }
    let volumes: Map<string, string>;
    try {
      volumes = await this.volumes.setUp(pod, volumeLookups(configMaps, secrets, this.#opts.allocatable));
    } catch (e) {
      if (!(e instanceof MountError)) throw e;
      this.#event(pod, "Warning", "FailedMount", e.message);
      await this.status.setStatus(pod, this.#generate(pod, state, await this.runtimeStatus(uid), false));
      return { requeueAfterMs: this.#retryDelay(`${uid}/volumes`) };
    }
    const ctx: SyncContext = {
      runtime: this.#opts.runtime,
      images: this.#opts.images,
      recorder: this.#opts.recorder,
      imageBackoff: this.#imageBackoff,
      backoff: this.#backoff,
      lookups: envLookups(configMaps, secrets, this.#opts.allocatable),
      pullSecrets: (pod.spec?.imagePullSecrets ?? [])
        .map((s) => decodeDockerConfig(secrets.get(pod.metadata!.namespace, s.name ?? "")))
        .filter((d) => d !== undefined),
      volumes,
      logRoot: this.logRoot,
      now: this.#now,
      handler,
      probes: { livenessFailed: this.probes.livenessFailed, startupFailed: this.probes.startupFailed },
      startFailures: state.startFailures,
    };
    const delay = await syncPod(ctx, pod, await this.runtimeStatus(uid));
    const after = await this.runtimeStatus(uid);
    const podIP = after.sandboxes[0]?.network?.ip ?? "";
    this.probes.update(
      pod,
      podIP,
      after.containers.filter((c) => c.state === "CONTAINER_RUNNING")
        .map((c) => ({ id: c.id, name: c.metadata.name, startedAt: c.startedAt })),
    );
    await this.status.setStatus(pod, this.#generate(pod, state, after, false));
    return delay === undefined ? {} : { requeueAfterMs: delay };
  }

  #retryDelay(key: string): number {
    const now = this.#now();
    this.#backoff.next(key, now, now);
    return this.#backoff.get(key);
  }

  async #terminate(pod: Pod, state: PodState): Promise<SyncResult> {
    const uid = pod.metadata!.uid!;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.probes.removePod(uid);
    await killPod(this.#opts.runtime, this.#opts.recorder, pod, await this.runtimeStatus(uid), grace);
    const after = await this.runtimeStatus(uid);
    if (after.containers.length > 0) {
      await this.status.setStatus(pod, this.#generate(pod, state, after, true));
    }
    try {
      await this.#opts.client.delete(R.pods, pod.metadata!.namespace!, pod.metadata!.name!, {
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (e) {
      if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
    }
    return {};
  }

  /** The pod is gone from the API: remove everything the node holds for it. */
  async #cleanUp(uid: string, state: PodState): Promise<SyncResult> {
    await this.#removeRuntimeState(
      uid,
      state.pod,
      Math.min(state.pod?.spec?.terminationGracePeriodSeconds ?? 2, 2),
    );
    await this.volumes.tearDown(uid);
    this.probes.removePod(uid);
    this.#backoff.forgetPrefix(`${uid}/`);
    this.#imageBackoff.forgetPrefix(`${uid}/`);
    this.status.forget(uid);
    this.#states.delete(uid);
    return { forget: true };
  }

  async #removeRuntimeState(uid: string, pod: Pod | undefined, graceSeconds: number): Promise<void> {
    const runtime = this.#opts.runtime;
    const rs = await this.runtimeStatus(uid);
    const meta = rs.sandboxes[0]?.metadata;
    const subject = pod ??
      (meta ? { metadata: { name: meta.name, namespace: meta.namespace, uid } } : undefined);
    if (subject) await killPod(runtime, this.#opts.recorder, subject as Pod, rs, graceSeconds);
    for (const c of rs.containers) await runtime.removeContainer(c.id);
    for (const s of rs.sandboxes) {
      await runtime.stopPodSandbox(s.id);
      await runtime.removePodSandbox(s.id);
    }
    if (subject) {
      await Deno.remove(`${this.logRoot}/${podLogDirName(subject as Pod)}`, { recursive: true }).catch(
        () => {},
      );
    }
  }
}
