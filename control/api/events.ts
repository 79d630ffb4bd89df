/**
 * Recording Kubernetes Events (core/v1), as client-go's event recorder: one Event per object,
 * reason and message; a repeat within ten minutes bumps `count` and `lastTimestamp` instead of
 * creating another object. Failures to record are logged, never thrown: events are best effort.
 * @module
 */
import { type Client, R } from "./client.ts";
import type { KubeObject } from "./types.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
  /** Resolves when every event recorded so far has been written (tests). */
  flush(): Promise<void>;
}

const DEDUP_WINDOW_MS = 10 * 60_000;
const MAX_REMEMBERED = 4096;
const MAX_IN_FLIGHT = 8;

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Records events as `component` (e.g. `default-scheduler`, `deployment-controller`, `kubelet`). */
export function eventRecorder(
  client: Client,
  component: string,
  opts: { host?: string; now?: () => number } = {},
): EventRecorder {
  const now = opts.now ?? Date.now;
  // Oldest first: an entry is moved to the end whenever it is touched, so expiry sweeps the front.
  const recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  const remember = (key: string, v: { name: string; namespace: string; count: number; at: number }) => {
    recent.delete(key);
    recent.set(key, v);
    for (const [k, old] of recent) {
      if (recent.size <= MAX_REMEMBERED && v.at - old.at < DEDUP_WINDOW_MS) break;
      recent.delete(k);
    }
  };
  // Writes run with a little concurrency; writes of the same event (same key) stay in order.
  const inFlight = new Set<Promise<void>>();
  const lastOfKey = new Map<string, Promise<void>>();
  let active = 0;
  const slots: (() => void)[] = [];
  const acquire = async () => {
    if (active >= MAX_IN_FLIGHT) await new Promise<void>((r) => slots.push(r));
    active++;
  };
  const release = () => {
    active--;
    slots.shift()?.();
  };

  const write = async (obj: KubeObject, type: EventType, reason: string, message: string) => {
    const m = obj.metadata;
    const namespace = m.namespace || "default";
    const key = [m.uid, m.name, namespace, type, reason, message].join("\u0000");
    const t = now();
    const seen = recent.get(key);
    if (seen && t - seen.at < DEDUP_WINDOW_MS) {
      seen.count++;
      seen.at = t;
      remember(key, seen);
      try {
        await client.patch(R.events, seen.namespace, seen.name, { count: seen.count, lastTimestamp: timestamp(t) });
        return;
      } catch {
        recent.delete(key); // gone (TTL or deleted): record afresh
      }
    }
    // Upstream names events `<object>.<unix nanoseconds in hex>`; the sub-millisecond part is random
    // so events recorded in the same millisecond do not collide (BigInt: nanoseconds exceed 2^53).
    const nanos = BigInt(t) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
    const name = `${m.name}.${nanos.toString(16)}`;
    const ev: KubeObject = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: {
        kind: obj.kind,
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        apiVersion: obj.apiVersion,
        resourceVersion: m.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component, ...(opts.host ? { host: opts.host } : {}) },
      firstTimestamp: timestamp(t),
      lastTimestamp: timestamp(t),
      count: 1,
      reportingComponent: component,
      reportingInstance: opts.host ?? "",
    };
    await client.create(R.events, ev);
    remember(key, { name, namespace, count: 1, at: t });
  };

  return {
    event(obj, type, reason, message) {
      const key = [obj.metadata.uid, obj.metadata.name, type, reason, message].join("\u0000");
      const previous = lastOfKey.get(key);
      const run = async () => {
        await previous;
        await acquire();
        try {
          await write(obj, type, reason, message);
        } finally {
          release();
        }
      };
      const p = run().catch((e) => {
        console.error(`could not record event ${reason} for ${obj.kind} ${obj.metadata.name}: ${e?.message ?? e}`);
      });
      inFlight.add(p);
      lastOfKey.set(key, p);
      p.finally(() => {
        inFlight.delete(p);
        if (lastOfKey.get(key) === p) lastOfKey.delete(key);
      });
    },
    flush: async () => {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}
