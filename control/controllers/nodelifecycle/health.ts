/**
 * Node health, pure (upstream `tryUpdateNodeHealth` and `ComputeZoneState`): when this controller
 * last saw a sign of life from a node (a new Ready heartbeat or a renewed Lease), measured on its
 * own clock so clock skew between nodes and controller does not matter; the conditions a node
 * gets once the grace period has passed; and the disruption state of a zone.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

export interface NodeCondition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** What the controller remembers about a node between passes. */
export interface NodeHealth {
  /** Local time of the last sign of life. */
  probeTimestamp: number;
  /** Local time the Ready condition was last seen to transition. */
  readyTransitionTimestamp: number;
  /** The Ready condition as last seen (null: none). */
  ready: NodeCondition | null;
  /** The Lease renewTime as last seen. */
  leaseRenewTime?: string;
}

export function readyCondition(node: KubeObject): NodeCondition | null {
  return (node.status?.conditions ?? []).find((c: NodeCondition) => c.type === "Ready") ?? null;
}

/**
 * Updates what is remembered about a node from its current object and Lease. `saved` is the
 * previous memory (undefined for a node not seen before: it gets a full grace period from now).
 */
export function observeNodeHealth(
  node: KubeObject,
  lease: KubeObject | undefined,
  saved: NodeHealth | undefined,
  now: number,
): NodeHealth {
  const current = readyCondition(node);
  let health: NodeHealth;
  if (!saved) {
    health = { probeTimestamp: now, readyTransitionTimestamp: now, ready: current };
  } else if ((saved.ready === null) !== (current === null)) {
    health = {
      probeTimestamp: now,
      readyTransitionTimestamp: now,
      ready: current,
      leaseRenewTime: saved.leaseRenewTime,
    };
  } else if (saved.ready && current && saved.ready.lastHeartbeatTime !== current.lastHeartbeatTime) {
    const transitioned = saved.ready.lastTransitionTime !== current.lastTransitionTime;
    health = {
      probeTimestamp: now,
      readyTransitionTimestamp: transitioned ? now : saved.readyTransitionTimestamp,
      ready: current,
      leaseRenewTime: saved.leaseRenewTime,
    };
  } else {
    health = { ...saved, ready: current };
  }
  const renew: string | undefined = lease?.spec?.renewTime;
  if (renew && (!health.leaseRenewTime || Date.parse(health.leaseRenewTime) < Date.parse(renew))) {
    health = { ...health, leaseRenewTime: renew, probeTimestamp: now };
  }
  return health;
}

/** The grace period that applies: the startup one until the node has posted a Ready condition. */
export function gracePeriodFor(node: KubeObject, monitorGraceMs: number, startupGraceMs: number): number {
  return readyCondition(node) ? monitorGraceMs : startupGraceMs;
}

const UNKNOWN_TYPES = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/**
 * The node's conditions once it has been silent past its grace period: Ready, MemoryPressure,
 * DiskPressure and PIDPressure become Unknown ("Kubelet stopped posting node status."), or are
 * added as never updated. Returns null when they already say so.
 */
export function unknownConditions(node: KubeObject, nowIso: string): NodeCondition[] | null {
  const conditions: NodeCondition[] = (node.status?.conditions ?? []).map((c: NodeCondition) => ({ ...c }));
  let changed = false;
  for (const type of UNKNOWN_TYPES) {
    const c = conditions.find((c) => c.type === type);
    if (!c) {
      conditions.push({
        type,
        status: "Unknown",
        reason: "NodeStatusNeverUpdated",
        message: "Kubelet never posted node status.",
        lastHeartbeatTime: node.metadata.creationTimestamp,
        lastTransitionTime: nowIso,
      });
      changed = true;
    } else if (c.status !== "Unknown") {
      c.status = "Unknown";
      c.reason = "NodeStatusUnknown";
      c.message = "Kubelet stopped posting node status.";
      c.lastTransitionTime = nowIso;
      changed = true;
    }
  }
  return changed ? conditions : null;
}

export type ZoneState = "Initial" | "Normal" | "PartialDisruption" | "FullDisruption";

/** A zone's state from the Ready statuses of its nodes (`ComputeZoneState`). */
export function computeZoneState(
  readyStatuses: (string | undefined)[],
  unhealthyThreshold: number,
): ZoneState {
  let ready = 0, notReady = 0;
  for (const s of readyStatuses) s === "True" ? ready++ : notReady++;
  if (ready === 0 && notReady > 0) return "FullDisruption";
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyThreshold) return "PartialDisruption";
  return "Normal";
}

/** The zone key of a node (`topology.kubernetes.io/region` + zone labels, as upstream's `GetZoneKey`). */
export function zoneKey(node: KubeObject): string {
  const l = node.metadata.labels ?? {};
  const region = l["topology.kubernetes.io/region"] ?? l["failure-domain.beta.kubernetes.io/region"] ?? "";
  const zone = l["topology.kubernetes.io/zone"] ?? l["failure-domain.beta.kubernetes.io/zone"] ?? "";
  return region || zone ? `${region}:\x00:${zone}` : "";
}

/** A token bucket (client-go's `flowcontrol` rate limiter): `qps` tokens per second, `burst` at most. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly qps: number, readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes a token if one is available. */
  tryAccept(now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
}
