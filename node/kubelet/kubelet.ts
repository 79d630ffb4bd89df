/**
 * The pod half of the node agent: an informer for the node's pods (`spec.nodeName=<node>`) and
 * RuntimeClasses, a watch per ConfigMap and Secret its pods use (object_manager.ts: the node reads
 * only those, by name, as the node authorizer requires), ServiceAccount tokens for projected
 * volumes (token_manager.ts), one serialized worker per pod, and the three things a worker does as
 * the kubelet's pod lifecycle: sync a pod that should run, terminate a pod being deleted (stop
 * it within its grace period, post its final status, then delete the object with
 * `gracePeriodSeconds=0` and a UID precondition), and clean up after a pod that is gone (remove
 * containers and sandboxes, release its IP, volumes and logs). Everything is event driven:
 * informer events, runtime container events, probe result changes and back-off expiries.
 * @module
 */
import { markTopDir } from "../images/top_dir.ts";
import { trace } from "../../plugins/host/trace.ts";
import type { ClusterDnsSettings } from "../dns/pod_dns.ts";
import type { Pod, PodStatus } from "kubernetes-types/core/v1.d.ts";
import { type Client, R } from "../../control/api/client.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import { Informer } from "../../control/api/informer.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";
import type { ImageService, RuntimeService } from "../cri/api.ts";
import { ProberManager } from "../probes/prober_manager.ts";
import { type IssuedToken, type TokenRequester, TokenManager } from "../volumes/token_manager.ts";
import { MountError, VolumeManager, VolumeNotReady } from "../volumes/volume_manager.ts";
import { CsiProvisioner } from "../volumes/csi_provisioner.ts";
import { NodePublisher } from "../volumes/node_publisher.ts";
import { PersistentVolumes } from "../volumes/pvc_volume.ts";
import { type StoragePluginHost, StorageDrivers } from "../volumes/storage_drivers.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { envLookups, podReferences, volumeLookups } from "./config_sources.ts";
import { ObjectManager } from "./object_manager.ts";
import { generatePodStatus, type StartFailure } from "./pod_status.ts";
import { killPod, runtimePodStatus, type SyncContext, syncPod } from "./pod_sync.ts";
import { activeDeadlineLeft, DEADLINE_MESSAGE, DEADLINE_REASON, deadlineStatus } from "./active_deadline.ts";
import { PodWorkers, type SyncResult } from "./pod_workers.ts";
import { updateNeedsSync } from "./pod_update.ts";
import type { RuntimePodStatus } from "./runtime_pod.ts";
import { podLogDirName } from "./sandbox_config.ts";
import { evictedStatus, hasStorageLimits, measurePodStorage, storageEviction } from "./eviction.ts";
import { StatusManager } from "./status_manager.ts";
import { abSwitch } from "../ab_switch.ts";

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
  /** How often local ephemeral storage is measured for eviction (ms; default 2000). */
  evictionIntervalMs?: number;
  /** The cluster DNS (kubelet `--cluster-dns`/`--cluster-domain`/`--resolv-conf`) for pods' DNS configuration. */
  clusterDns?: ClusterDnsSettings;
  /**
   * The node's storage Plugins (node/plugins.ts): CSI drivers for claims, and the built-in
   * `local-path` that publishes emptyDir and hostPath volumes. Without it, claims cannot mount
   * and emptyDir/hostPath volumes are plain directories (tests of the kubelet alone).
   */
  storage?: StoragePluginHost;
  now?: () => number;
}

/** No storage Plugins. */
const NO_STORAGE: StoragePluginHost = {
  storagePlugins: () => [],
  version: () => undefined,
  call: () => Promise.reject(new Error("no storage plugins on this node")),
};

interface PodState {
  pod?: Pod;
  startFailures: Map<string, StartFailure>;
  /** The last pull error per image, for the `ImagePullBackOff` message. */
  pullErrors: Map<string, string>;
}

const TERMINAL = new Set(["Succeeded", "Failed"]);

/**
 * `SKIFF_KUBELET_ECHO_SYNC=1`: sync a pod on the watch's echo of the kubelet's own status write
 * too, as before pod_update.ts (for A/B measurements; docs/benchmarks.md).
 */
const ECHO_SYNC = abSwitch("SKIFF_KUBELET_ECHO_SYNC") === "1";

function decodeDockerConfig(secret: KubeObject | undefined): unknown | undefined {
  const raw = secret?.data?.[".dockerconfigjson"] ?? secret?.data?.[".dockercfg"];
  if (!raw) return undefined;
  try {
    return JSON.parse(atob(raw));
  } catch {
    return undefined;
  }
}

/** A TokenRequester over the API: `POST …/serviceaccounts/<sa>/token`. */
export function apiTokenRequester(client: Client): TokenRequester {
  return async (namespace, serviceAccount, body): Promise<IssuedToken> => {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${
      encodeURIComponent(serviceAccount)
    }/token`;
    const answer = await (await client.request("POST", path, body)).json();
    return {
      token: answer?.status?.token,
      expirationTimestamp: answer?.status?.expirationTimestamp,
      expirationSeconds: answer?.spec?.expirationSeconds,
    };
  };
}

export class Kubelet implements AsyncDisposable {
  readonly pods: Informer<KubeObject>;
  readonly configMaps: ObjectManager;
  readonly secrets: ObjectManager;
  readonly runtimeClasses: Informer<KubeObject>;
  readonly volumes: VolumeManager;
  /** The node's CSI drivers (storage Plugins) and the node-side provisioner (docs/storage.md). */
  readonly storage: StorageDrivers;
  readonly provisioner: CsiProvisioner;
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
  /** Pods the eviction manager evicts: uid → message (eviction.ts). */
  readonly #evicted = new Map<string, string>();
  /** When a FailedMount event last reported an unbound claim, per pod. */
  readonly #notReadyEventAt = new Map<string, number>();
  #evictionTimer: ReturnType<typeof setInterval> | undefined;
  #measuring = false;
  /** Pods whose sync is acting on the runtime and has not read its state back yet. */
  readonly #acting = new Set<string>();

  constructor(opts: KubeletOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    const c = opts.client;
    this.pods = new Informer(c, R.pods, { fieldSelector: `spec.nodeName=${opts.nodeName}` });
    // A changed ConfigMap or Secret re-syncs the pods using it.
    const touched = (kind: "configMaps" | "secrets") => (namespace: string, name: string) => {
      for (const [uid, pod] of this.#byUid) {
        if (pod.metadata?.namespace !== namespace) continue;
        if (podReferences(pod)[kind].has(name)) this.#workers.update(uid);
      }
    };
    this.configMaps = new ObjectManager(c, R.configmaps, { onChange: touched("configMaps") });
    this.secrets = new ObjectManager(c, R.secrets, { onChange: touched("secrets") });
    this.runtimeClasses = new Informer(c, R.runtimeclasses);
    this.storage = new StorageDrivers(opts.storage ?? NO_STORAGE);
    this.provisioner = new CsiProvisioner({
      client: c,
      nodeName: opts.nodeName,
      drivers: this.storage,
      recorder: opts.recorder,
    });
    const publisher = new NodePublisher(`${opts.dataDir}/kubelet`, this.storage);
    this.volumes = new VolumeManager(`${opts.dataDir}/kubelet`, {
      tokens: new TokenManager(apiTokenRequester(c), { now: this.#now }),
      claims: new PersistentVolumes(this.storage, publisher, {
        claim: (ns, name) => c.tryGet(R.persistentvolumeclaims, ns, name),
        volume: (name) => c.tryGet(R.persistentvolumes, "", name),
      }),
      storage: opts.storage ? { drivers: this.storage, publisher } : undefined,
    });
    this.logRoot = `${opts.dataDir}/pods`;
    this.status = new StatusManager(c);
    this.#backoff = new Backoff(opts.backoff);
    this.#imageBackoff = new Backoff(opts.backoff);
    this.#workers = new PodWorkers((uid) => this.#syncWorker(uid));
    this.probes = new ProberManager({
      onChange: (uid) => this.#workers.update(uid),
      event: (pod, type, reason, message) => this.#event(pod, type, reason, message),
      exec: opts.runtime.execSync ? (id, cmd, ms) => execProbe(opts.runtime, id, cmd, ms) : undefined,
      now: this.#now,
    });
  }

  /** Pods this node runs, by UID. */
  podByUid(uid: string): Pod | undefined {
    return this.#byUid.get(uid);
  }

  /** Starts the informers, waits for them, then syncs every pod (and cleans up orphans). */
  async start(): Promise<void> {
    // Each pod's log directories start in a quiet ext4 block group (node/images/top_dir.ts).
    Deno.mkdirSync(this.logRoot, { recursive: true });
    markTopDir(this.logRoot);
    this.pods.addHandler({
      onAdd: (p) => this.#podChanged(p as Pod),
      onUpdate: (old, p) => {
        if (old.metadata.uid !== p.metadata.uid) this.#podGone(old as Pod);
        // The echo of this kubelet's own status write: the newer object, no sync (pod_update.ts).
        if (!ECHO_SYNC && !updateNeedsSync(old as Pod, p as Pod, this.status.ownStatuses(p.metadata.uid!))) {
          this.#byUid.set(p.metadata.uid!, p as Pod);
          return;
        }
        this.#podChanged(p as Pod);
      },
      onDelete: (p) => this.#podGone(p as Pod),
    });
    this.#unsubscribe = this.#opts.runtime.events((e) => {
      // A container this pod's running sync just created or started: that sync reads the
      // runtime state after its actions and reports it, so the event needs no sync of its own
      // (an exit or a removal always gets one).
      const own = e.type === "CONTAINER_CREATED_EVENT" || e.type === "CONTAINER_STARTED_EVENT";
      if (own && this.#acting.has(e.podUid)) return;
      this.#workers.update(e.podUid);
    });
    for (const inf of [this.runtimeClasses, this.pods]) inf.start();
    await Promise.all([this.runtimeClasses, this.pods].map((i) => i.synced()));
    await this.provisioner.start();
    this.#evictionTimer = setInterval(() => this.#checkStorage(), this.#opts.evictionIntervalMs ?? 2000);
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
    clearInterval(this.#evictionTimer);
    await Promise.all([this.pods, this.runtimeClasses].map((i) => i.stop()));
    await this.provisioner.stop();
    await Promise.all([this.configMaps.stop(), this.secrets.stop()]);
    this.#unsubscribe?.();
    await this.#workers.close();
    this.probes.close();
    if (!opts.stopPods) return;
    await Deno.remove(this.logRoot, { recursive: true }).catch(() => {});
    for (const uid of await this.volumes.knownPods()) {
      await this.volumes.tearDown(uid, { force: true }).catch((e) => console.error(`kubelet: ${(e as Error).message}`));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ stopPods: true });
  }

  /** The runtime state of a pod (for the log endpoint). */
  runtimeStatus(uid: string): Promise<RuntimePodStatus> {
    return runtimePodStatus(this.#opts.runtime, uid);
  }

  #podChanged(pod: Pod) {
    const uid = pod.metadata!.uid!;
    trace("kubelet-sees", pod.metadata!.name);
    this.#byUid.set(uid, pod);
    // Watch (only) the ConfigMaps and Secrets this pod uses, before its worker needs them.
    const refs = podReferences(pod);
    const ns = pod.metadata!.namespace ?? "default";
    this.configMaps.registerPod(uid, ns, refs.configMaps);
    this.secrets.registerPod(uid, ns, refs.secrets);
    this.#workers.update(uid);
  }

  #podGone(pod: Pod) {
    const uid = pod.metadata!.uid!;
    this.#byUid.delete(uid);
    this.configMaps.unregisterPod(uid);
    this.secrets.unregisterPod(uid);
    this.#workers.update(uid);
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
    if (!s) this.#states.set(uid, s = { startFailures: new Map(), pullErrors: new Map() });
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
    const evicted = this.#evicted.get(uid);
    if (evicted !== undefined && !TERMINAL.has(pod.status?.phase ?? "")) return await this.#evict(pod, state, evicted);
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
    const deadline = () =>
      activeDeadlineLeft(pod, this.status.lastWritten(uid)?.startTime ?? pod.status?.startTime, this.#now());
    if (deadline() === 0) return await this.#deadlineExceeded(pod, state);
    const result = await this.#sync(pod, state);
    // Back at the deadline (the first sync writes the start time it counts from).
    const left = deadline();
    if (left === undefined) return result;
    return { ...result, requeueAfterMs: Math.min(result.requeueAfterMs ?? Infinity, left) };
  }

  /** Stops a pod past `activeDeadlineSeconds` and marks it Failed/DeadlineExceeded, as upstream. */
  async #deadlineExceeded(pod: Pod, state: PodState): Promise<SyncResult> {
    this.#event(pod, "Normal", DEADLINE_REASON, DEADLINE_MESSAGE);
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    return await this.#stopAsFailed(pod, state, grace, deadlineStatus);
  }

  /** Stops every container of the pod within `grace` and posts its final status, as `fail` marks it. */
  async #stopAsFailed(
    pod: Pod,
    state: PodState,
    grace: number,
    fail: (status: PodStatus) => PodStatus,
  ): Promise<SyncResult> {
    const uid = pod.metadata!.uid!;
    this.probes.removePod(uid);
    await killPod(this.#opts.runtime, this.#opts.recorder, pod, await this.runtimeStatus(uid), grace);
    const status = this.#generate(pod, state, await this.runtimeStatus(uid), true);
    await this.status.setStatus(pod, fail(status));
    return {};
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
    trace("sync>", pod.metadata!.name);
    const { configMaps, secrets } = this;
    // The first list of each object this pod uses (objects not listed in time read as missing).
    const refs = podReferences(pod);
    const ns = pod.metadata!.namespace ?? "default";
    await Promise.all([configMaps.waitSynced(ns, refs.configMaps), secrets.waitSynced(ns, refs.secrets)]);
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
      // An unbound claim is reported every 10 s at most while the kubelet polls it.
      const last = this.#notReadyEventAt.get(uid) ?? -Infinity;
      if (!(e instanceof VolumeNotReady) || this.#now() - last >= 10_000) {
        this.#event(pod, "Warning", "FailedMount", e.message);
        if (e instanceof VolumeNotReady) this.#notReadyEventAt.set(uid, this.#now());
      }
      await this.status.setStatus(pod, this.#generate(pod, state, await this.runtimeStatus(uid), false));
      // A claim not bound yet (being provisioned) is polled as upstream's volume manager does (300 ms).
      const delay = this.#retryDelay(`${uid}/volumes`);
      return { requeueAfterMs: e instanceof VolumeNotReady ? Math.min(delay, 300) : delay };
    }
    const ctx: SyncContext = {
      runtime: this.#opts.runtime,
      images: this.#opts.images,
      recorder: this.#opts.recorder,
      imageBackoff: this.#imageBackoff,
      pullErrors: state.pullErrors,
      backoff: this.#backoff,
      lookups: envLookups(configMaps, secrets, this.#opts.allocatable),
      pullSecrets: (pod.spec?.imagePullSecrets ?? [])
        .map((s) => decodeDockerConfig(secrets.get(ns, s.name ?? "")))
        .filter((d) => d !== undefined),
      volumes,
      logRoot: this.logRoot,
      clusterDns: this.#opts.clusterDns,
      now: this.#now,
      handler,
      probes: {
        livenessFailed: this.probes.livenessFailed,
        startupFailed: this.probes.startupFailed,
        startup: this.probes.startup,
      },
      startFailures: state.startFailures,
    };
    trace("volumes-done", pod.metadata!.name);
    const before = await this.runtimeStatus(uid);
    trace("runtime-status-done", pod.metadata!.name);
    let result;
    this.#acting.add(uid);
    try {
      result = await syncPod(ctx, pod, before);
    } finally {
      this.#acting.delete(uid);
    }
    const delay = result.requeueAfterMs;
    trace("syncpod-done", pod.metadata!.name);
    // Nothing asked of the runtime: its state is the one just read.
    const after = result.changedRuntime ? await this.runtimeStatus(uid) : before;
    trace("runtime-status-done", pod.metadata!.name);
    const podIP = after.sandboxes[0]?.network?.ip ?? "";
    this.probes.update(
      pod,
      podIP,
      after.containers.filter((c) => c.state === "CONTAINER_RUNNING")
        .map((c) => ({ id: c.id, name: c.metadata.name, startedAt: c.startedAt })),
    );
    await this.status.setStatus(pod, this.#generate(pod, state, after, false));
    // Sync again when a projected ServiceAccount token is due for refresh.
    const refreshAt = this.volumes.nextRefresh(uid);
    const refreshIn = refreshAt === undefined ? undefined : Math.max(0, refreshAt - this.#now());
    const next = [delay, refreshIn].filter((d): d is number => d !== undefined);
    return next.length ? { requeueAfterMs: Math.min(...next) } : {};
  }

  /** Measures the local storage of running pods with limits; marks those over them for eviction. */
  async #checkStorage(): Promise<void> {
    if (this.#measuring) return;
    this.#measuring = true;
    try {
      for (const [uid, pod] of this.#byUid) {
        if (this.#evicted.has(uid) || pod.metadata?.deletionTimestamp || TERMINAL.has(pod.status?.phase ?? "")) continue;
        if (!hasStorageLimits(pod)) continue;
        const usage = await measurePodStorage(pod, this.volumes.podDir(uid), `${this.logRoot}/${podLogDirName(pod)}`);
        const message = storageEviction(pod, usage);
        if (message) {
          this.#evicted.set(uid, message);
          this.#workers.update(uid);
        }
      }
    } catch (e) {
      console.error(`kubelet: measuring local storage: ${(e as Error).message}`);
    } finally {
      this.#measuring = false;
    }
  }

  /** Stops an evicted pod at once and marks it Failed/Evicted, as the eviction manager does. */
  async #evict(pod: Pod, state: PodState, message: string): Promise<SyncResult> {
    this.#event(pod, "Warning", "Evicted", message);
    return await this.#stopAsFailed(pod, state, 0, (s) => evictedStatus(s, message, this.#now()));
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
    this.#evicted.delete(uid);
    this.#notReadyEventAt.delete(uid);
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

/** Runs an exec probe's command; a timeout or a failure to run is a failed probe, as upstream. */
async function execProbe(
  runtime: RuntimeService,
  id: string,
  cmd: string[],
  timeoutMs: number,
): Promise<{ exitCode: number; output: string }> {
  try {
    const r = await runtime.execSync!(id, cmd, timeoutMs);
    const dec = new TextDecoder();
    return { exitCode: r.exitCode, output: (dec.decode(r.stdout) + dec.decode(r.stderr)).slice(0, 10 * 1024) };
  } catch (e) {
    return { exitCode: -1, output: (e as Error).message ?? String(e) };
  }
}
