/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection`.
 *
 * A candidate reads the Lease; it may take it when nobody holds it or when the record has not
 * changed for `leaseDurationSeconds` *as measured by this candidate's own clock since it last saw
 * the record change* (never by comparing the remote `renewTime` with the local clock, so clock skew
 * between replicas does not matter). The leader renews every `retryPeriodMs`; if it cannot renew
 * within `renewDeadlineMs` it stops leading. On a clean shutdown the leader releases the Lease
 * (empty holder, one-second duration) so a standby takes over at once.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector(client, {
 *   namespace: "kube-system",
 *   name: "kube-controller-manager",
 *   identity: "host-a_1234",
 * });
 * await elector.run(signal, async (leading) => {
 *   await runControllers(leading); // returns once `leading` aborts
 * });
 * ```
 * @module
 */
import { type Client, R, resourcePath } from "./client.ts";
import { ApiError } from "./status.ts";
import type { KubeObject } from "./types.ts";

/** The `spec` of a Lease: the leader election record. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** A Lease object. */
export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This candidate's identity (unique per process; e.g. `hostname_uuid`). */
  identity: string;
  /** How long a non-leader waits after the record last changed before taking over (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a renewal before it gives up leading (default 10 s). */
  renewDeadlineMs?: number;
  /** Time between attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Release the lease when `run`'s signal aborts (default true). */
  releaseOnCancel?: boolean;
  /** Called whenever the observed holder changes (including to this identity). */
  onNewLeader?(identity: string): void;
  now?: () => number;
}

/** client-go's JitterFactor for acquire retries. */
export const JITTER_FACTOR = 1.2;

/** Formats a time as a Kubernetes MicroTime (`2006-01-02T15:04:05.000000Z`). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The outcome of looking at the current record. */
export type LeaseDecision =
  | { take: false; holder: string }
  | { take: true; spec: LeaseSpec; transition: boolean };

/**
 * The pure part of `tryAcquireOrRenew`: given the record as stored (undefined when there is no
 * Lease), when this candidate first observed that record (its own clock), and now, decide whether
 * to write a new record, and which.
 */
export function decideLease(
  current: LeaseSpec | undefined,
  observedAtMs: number,
  nowMs: number,
  identity: string,
  leaseDurationSeconds: number,
): LeaseDecision {
  const now = microTime(nowMs);
  const fresh: LeaseSpec = {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: 0,
  };
  if (!current) return { take: true, spec: fresh, transition: false };
  const holder = current.holderIdentity ?? "";
  const duration = (current.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  const valid = observedAtMs + duration > nowMs;
  if (holder && holder !== identity && valid) return { take: false, holder };
  if (holder === identity) {
    return {
      take: true,
      transition: false,
      spec: {
        ...fresh,
        acquireTime: current.acquireTime ?? now,
        leaseTransitions: current.leaseTransitions ?? 0,
      },
    };
  }
  return {
    take: true,
    transition: true,
    spec: { ...fresh, leaseTransitions: (current.leaseTransitions ?? 0) + 1 },
  };
}

/** The record a leader writes when it steps down cleanly. */
export function releasedSpec(current: LeaseSpec | undefined, nowMs: number): LeaseSpec {
  const now = microTime(nowMs);
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: current?.leaseTransitions ?? 0,
  };
}

/** Checks client-go's constraints on the three durations. */
export function validateDurations(leaseMs: number, renewMs: number, retryMs: number): void {
  if (leaseMs <= renewMs) throw new Error("leaseDuration must be greater than renewDeadline");
  if (renewMs <= JITTER_FACTOR * retryMs) {
    throw new Error("renewDeadline must be greater than retryPeriod*JitterFactor");
  }
  if (retryMs < 1) throw new Error("retryPeriod must be positive");
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Runs a callback while holding a Lease. One elector runs one campaign at a time. */
export class LeaderElector {
  readonly #client: Client;
  readonly #opts:
    & Required<Omit<LeaderElectionOptions, "onNewLeader">>
    & Pick<LeaderElectionOptions, "onNewLeader">;
  #observed: Lease | null = null;
  #observedRaw = "";
  #observedAt = 0;
  #reportedLeader = "";

  constructor(client: Client, opts: LeaderElectionOptions) {
    this.#client = client;
    this.#opts = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      now: Date.now,
      ...opts,
    };
    validateDurations(this.#opts.leaseDurationMs, this.#opts.renewDeadlineMs, this.#opts.retryPeriodMs);
    if (!opts.identity) throw new Error("leader election requires a non-empty identity");
  }

  /** The identity of the leader as last observed ("" when unknown or released). */
  get leader(): string {
    return this.#observed?.spec?.holderIdentity ?? "";
  }

  /** Whether this candidate held the lease at its last observation. */
  get isLeader(): boolean {
    return this.leader === this.#opts.identity;
  }

  /**
   * Campaigns until elected, runs `callback` with a signal that aborts when leadership ends, keeps
   * renewing, and resolves once leadership has ended and the callback has settled. Leadership ends
   * when `signal` aborts (the lease is then released), when a renewal misses the deadline, or when
   * the callback settles. A rejection of the callback is rethrown after stepping down.
   */
  async run(signal: AbortSignal, callback: (leading: AbortSignal) => Promise<void>): Promise<void> {
    if (!await this.#acquire(signal)) return;
    const leading = new AbortController();
    const stop = () => leading.abort();
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stop(); // aborted while the last acquire was in flight
    let failure: unknown = undefined;
    const work = (async () => {
      try {
        await callback(leading.signal);
      } catch (e) {
        failure = e;
      } finally {
        leading.abort();
      }
    })();
    try {
      await this.#renewLoop(leading.signal);
    } finally {
      leading.abort();
      signal.removeEventListener("abort", stop);
      await work;
      if (this.#opts.releaseOnCancel && this.isLeader) await this.#release();
    }
    if (failure !== undefined) throw failure;
  }

  /** Retries (jittered) until the lease is ours; false when `signal` aborted first. */
  async #acquire(signal: AbortSignal): Promise<boolean> {
    const { retryPeriodMs } = this.#opts;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal)) return true;
      await sleep(retryPeriodMs * (1 + Math.random() * (JITTER_FACTOR - 1)), signal);
    }
    return false;
  }

  /** Renews every retry period; returns when a renewal round misses the deadline or `leading` aborts. */
  async #renewLoop(leading: AbortSignal): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.#opts;
    while (!leading.aborted) {
      await sleep(retryPeriodMs, leading);
      if (leading.aborted) return;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), renewDeadlineMs);
      const both = AbortSignal.any([leading, deadline.signal]);
      let renewed = false;
      try {
        while (!both.aborted) {
          if (await this.#tryAcquireOrRenew(both)) {
            renewed = true;
            break;
          }
          await sleep(retryPeriodMs, both);
        }
      } finally {
        clearTimeout(timer);
      }
      if (!renewed) {
        if (!leading.aborted) {
          console.error(`leaderelection: failed to renew lease ${this.#where()}: timed out`);
        }
        return;
      }
    }
  }

  #where(): string {
    return `${this.#opts.namespace}/${this.#opts.name}`;
  }

  #observe(lease: Lease | null): void {
    const raw = JSON.stringify(lease?.spec ?? null);
    if (raw !== this.#observedRaw) {
      this.#observedRaw = raw;
      this.#observedAt = this.#opts.now();
    }
    this.#observed = lease;
    const holder = lease?.spec?.holderIdentity ?? "";
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#opts.onNewLeader?.(holder);
    }
  }

  async #send(method: string, path: string, body: unknown, signal: AbortSignal): Promise<Lease> {
    const res = await this.#client.request(method, path, body, "application/json", signal);
    return await res.json() as Lease;
  }

  /** One attempt, as client-go's `tryAcquireOrRenew`; never throws. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs, now } = this.#opts;
    const seconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
    const path = resourcePath(R.leases, namespace, name);
    try {
      // Fast path: we hold a valid lease, so renew from the cached object without a read.
      if (this.#observed && this.isLeader) {
        const decision = decideLease(this.#observed.spec, this.#observedAt, now(), identity, seconds);
        if (decision.take && !decision.transition) {
          try {
            const updated = await this.#send("PUT", path, { ...this.#observed, spec: decision.spec }, signal);
            this.#observe(updated);
            return true;
          } catch (e) {
            if (!(e instanceof ApiError && (e.code === 409 || e.code === 404))) throw e;
          }
        }
      }
      let current: Lease | null;
      try {
        const res = await this.#client.request("GET", path, undefined, undefined, signal);
        current = await res.json() as Lease;
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
        current = null;
      }
      if (!current) {
        const decision = decideLease(undefined, 0, now(), identity, seconds);
        if (!decision.take) return false;
        const created = await this.#send(
          "POST",
          resourcePath(R.leases, namespace),
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: decision.spec,
          },
          signal,
        );
        this.#observe(created);
        return true;
      }
      this.#observe(current);
      const decision = decideLease(current.spec, this.#observedAt, now(), identity, seconds);
      if (!decision.take) return false;
      const updated = await this.#send("PUT", path, { ...current, spec: decision.spec }, signal);
      this.#observe(updated);
      return true;
    } catch (e) {
      if (!signal.aborted && !(e instanceof ApiError && e.code === 409)) {
        console.error(
          `leaderelection: error retrieving or updating lease ${this.#where()}: ${
            (e as Error)?.message ?? e
          }`,
        );
      }
      return false;
    }
  }

  async #release(): Promise<void> {
    const observed = this.#observed;
    if (!observed) return;
    const path = resourcePath(R.leases, this.#opts.namespace, this.#opts.name);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#opts.renewDeadlineMs);
    try {
      const updated = await this.#send(
        "PUT",
        path,
        { ...observed, spec: releasedSpec(observed.spec, this.#opts.now()) },
        timeout.signal,
      );
      this.#observe(updated);
    } catch (e) {
      console.error(
        `leaderelection: failed to release lease ${this.#where()}: ${(e as Error)?.message ?? e}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A default identity: `hostname_random`, as kube-controller-manager's `hostname_uuid`. */
export function defaultIdentity(): string {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys: keep the default
  }
  return `${host}_${crypto.randomUUID()}`;
}
