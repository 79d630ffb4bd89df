/**
 * Probe workers, as the kubelet's `prober.Manager`: one timer-driven worker per running container
 * and probe kind (startup, liveness, readiness). A worker waits `initialDelaySeconds`, probes every
 * `periodSeconds`, and flips its result after `successThreshold` / `failureThreshold` consecutive
 * outcomes. Readiness starts false, liveness true; liveness and readiness wait until the startup
 * probe has succeeded. A failed liveness or startup result holds until the container is replaced.
 * Every change calls `onChange(podUid)` so the pod worker syncs; every failure records an
 * `Unhealthy` event.
 * @module
 */
import type { Container, Pod, Probe } from "kubernetes-types/core/v1.d.ts";
import { type ProbeOutcome, type ProbeTarget, runProbe } from "./prober.ts";

export type ProbeKind = "startup" | "liveness" | "readiness";

/** A running container, as the manager needs it. */
export interface RunningContainer {
  id: string;
  name: string;
  startedAt: number;
}

export interface ProberManagerOptions {
  onChange(podUid: string): void;
  /** Records an event on the pod (`Unhealthy`). */
  event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void;
  /** Runs a probe (injectable for runtimes with exec). */
  run?: (probe: Probe, target: ProbeTarget) => Promise<ProbeOutcome>;
  /** Runs an exec probe's command in a container (runtimes with exec); absent: exec probes fail. */
  exec?: (containerId: string, command: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string }>;
  now?: () => number;
}

const LABEL: Record<ProbeKind, string> = { startup: "Startup", liveness: "Liveness", readiness: "Readiness" };

interface Worker {
  key: string;
  podUid: string;
  kind: ProbeKind;
  containerId: string;
  containerName: string;
  timer?: ReturnType<typeof setTimeout>;
  stopped: boolean;
  onHold: boolean;
  lastResult?: "success" | "failure";
  run: number;
}

export class ProberManager {
  /** Container ID → readiness verdict. */
  readonly readiness = new Map<string, boolean>();
  /** Container ID → whether the startup probe has succeeded. */
  readonly startup = new Map<string, boolean>();
  readonly livenessFailed = new Set<string>();
  readonly startupFailed = new Set<string>();
  readonly #workers = new Map<string, Worker>();
  readonly #pods = new Map<string, { pod: Pod; podIP: string }>();
  readonly #opts: ProberManagerOptions;

  constructor(opts: ProberManagerOptions) {
    this.#opts = opts;
  }

  /** Starts workers for running containers of `pod` and stops the ones for containers gone. */
  update(pod: Pod, podIP: string, running: RunningContainer[]): void {
    const uid = pod.metadata!.uid!;
    this.#pods.set(uid, { pod, podIP });
    const wanted = new Set<string>();
    for (const rc of running) {
      const spec = probedSpec(pod, rc.name);
      if (!spec) continue;
      for (const kind of ["startup", "liveness", "readiness"] as const) {
        const probe = probeOf(spec, kind);
        if (!probe) continue;
        const key = `${rc.id}/${kind}`;
        wanted.add(key);
        if (!this.#workers.has(key)) this.#start(uid, kind, rc, probe);
      }
    }
    for (const [key, w] of this.#workers) {
      if (w.podUid === uid && !wanted.has(key)) this.#stop(w);
    }
  }

  /** Stops every worker of a pod and forgets its results. */
  removePod(uid: string): void {
    this.#pods.delete(uid);
    for (const w of [...this.#workers.values()]) if (w.podUid === uid) this.#stop(w);
  }

  close(): void {
    for (const w of [...this.#workers.values()]) this.#stop(w);
  }

  #stop(w: Worker) {
    w.stopped = true;
    clearTimeout(w.timer);
    this.#workers.delete(w.key);
    if (w.kind === "readiness") this.readiness.delete(w.containerId);
    if (w.kind === "startup") {
      this.startup.delete(w.containerId);
      this.startupFailed.delete(w.containerId);
    }
    if (w.kind === "liveness") this.livenessFailed.delete(w.containerId);
  }

  #start(podUid: string, kind: ProbeKind, rc: RunningContainer, probe: Probe) {
    const w: Worker = {
      key: `${rc.id}/${kind}`,
      podUid,
      kind,
      containerId: rc.id,
      containerName: rc.name,
      stopped: false,
      onHold: false,
      run: 0,
    };
    this.#workers.set(w.key, w);
    if (kind === "readiness") this.readiness.set(rc.id, false);
    if (kind === "startup") this.startup.set(rc.id, false);
    const now = this.#opts.now?.() ?? Date.now();
    const initial = Math.max(0, rc.startedAt + (probe.initialDelaySeconds ?? 0) * 1000 - now);
    w.timer = setTimeout(() => this.#tick(w, probe), initial);
  }

  async #tick(w: Worker, probe: Probe) {
    if (w.stopped) return;
    try {
      await this.#probeOnce(w, probe);
    } catch (e) {
      console.error(`probe ${w.key} failed unexpectedly:`, e);
    }
    if (w.stopped) return;
    w.timer = setTimeout(() => this.#tick(w, probe), (probe.periodSeconds ?? 10) * 1000);
  }

  async #probeOnce(w: Worker, probe: Probe) {
    const entry = this.#pods.get(w.podUid);
    if (!entry || w.onHold) return;
    const spec = probedSpec(entry.pod, w.containerName);
    if (!spec) return;
    // Liveness and readiness wait for the startup probe.
    if (w.kind !== "startup" && spec.startupProbe && this.startup.get(w.containerId) !== true) return;
    if (w.kind === "startup" && this.startup.get(w.containerId) === true) return;

    const run = this.#opts.run ?? runProbe;
    const exec = this.#opts.exec;
    const outcome = await run(probe, {
      podIP: entry.podIP,
      container: spec,
      exec: exec ? (command, timeoutMs) => exec(w.containerId, command, timeoutMs) : undefined,
    });
    if (w.stopped) return;
    if (outcome.result === "failure") {
      this.#opts.event(
        entry.pod,
        "Warning",
        "Unhealthy",
        `${LABEL[w.kind]} probe failed: ${outcome.message}`,
      );
    }
    if (w.lastResult === outcome.result) w.run++;
    else {
      w.lastResult = outcome.result;
      w.run = 1;
    }
    const threshold = outcome.result === "success"
      ? probe.successThreshold ?? 1
      : probe.failureThreshold ?? 3;
    if (w.run < threshold) return;
    const ok = outcome.result === "success";
    let changed = false;
    switch (w.kind) {
      case "readiness":
        changed = this.readiness.get(w.containerId) !== ok;
        this.readiness.set(w.containerId, ok);
        break;
      case "startup":
        changed = this.startup.get(w.containerId) !== ok || (!ok && !this.startupFailed.has(w.containerId));
        this.startup.set(w.containerId, ok);
        if (!ok) {
          this.startupFailed.add(w.containerId);
          w.onHold = true;
        }
        break;
      case "liveness":
        changed = ok === this.livenessFailed.has(w.containerId);
        if (ok) this.livenessFailed.delete(w.containerId);
        else {
          this.livenessFailed.add(w.containerId);
          w.onHold = true;
        }
        break;
    }
    if (changed) this.#opts.onChange(w.podUid);
  }
}

function probeOf(c: Container, kind: ProbeKind): Probe | undefined {
  return kind === "startup" ? c.startupProbe : kind === "liveness" ? c.livenessProbe : c.readinessProbe;
}

/** The spec of a probed container: a main container or a sidecar (an init container that restarts). */
function probedSpec(pod: Pod, name: string): Container | undefined {
  return pod.spec?.containers.find((c) => c.name === name) ??
    pod.spec?.initContainers?.find((c) => c.name === name && c.restartPolicy === "Always");
}
