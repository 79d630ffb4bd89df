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
  const recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  let pending: Promise<void> = Promise.resolve();

  const write = async (obj: KubeObject, type: EventType, reason: string, message: string) => {
    const m = obj.metadata;
    const namespace = m.namespace || "default";
    const key = [m.uid, m.name, namespace, type, reason, message].join("\u0000");
    const t = now();
    const seen = recent.get(key);
    if (seen && t - seen.at < DEDUP_WINDOW_MS) {
      seen.count++;
      seen.at = t;
      try {
        await client.patch(R.events, seen.namespace, seen.name, { count: seen.count, lastTimestamp: timestamp(t) });
        return;
      } catch {
        recent.delete(key); // gone (TTL or deleted): record afresh
      }
    }
    const name = `${m.name}.${(t * 1_000_000 + Math.floor(Math.random() * 1_000_000)).toString(16)}`;
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
    recent.set(key, { name, namespace, count: 1, at: t });
    if (recent.size > 4096) {
      for (const [k, v] of recent) if (t - v.at >= DEDUP_WINDOW_MS) recent.delete(k);
    }
  };

  return {
    event(obj, type, reason, message) {
      pending = pending.then(() => write(obj, type, reason, message)).catch((e) => {
        console.error(`could not record event ${reason} for ${obj.kind} ${obj.metadata.name}: ${e?.message ?? e}`);
      });
    },
    flush: () => pending,
  };
}
