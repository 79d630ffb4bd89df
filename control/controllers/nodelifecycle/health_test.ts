import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import {
  computeZoneState,
  gracePeriodFor,
  observeNodeHealth,
  TokenBucket,
  unknownConditions,
  zoneKey,
} from "./health.ts";

const node = (
  ready?: { status: string; hb: string; tr?: string },
  labels: Record<string, string> = {},
): KubeObject => ({
  metadata: { name: "n1", creationTimestamp: "2026-01-01T00:00:00Z", labels },
  status: {
    conditions: ready
      ? [{
        type: "Ready",
        status: ready.status,
        lastHeartbeatTime: ready.hb,
        lastTransitionTime: ready.tr ?? "T0",
      }, { type: "MemoryPressure", status: "False" }]
      : [],
  },
});
const lease = (renew: string): KubeObject => ({ metadata: { name: "n1" }, spec: { renewTime: renew } });

Deno.test("observeNodeHealth() gives a node seen for the first time a full grace period from now", () => {
  const h = observeNodeHealth(
    node({ status: "True", hb: "2020-01-01T00:00:00Z" }),
    undefined,
    undefined,
    1_000,
  );
  assert.equal(h.probeTimestamp, 1_000);
});

Deno.test("observeNodeHealth() moves the probe time only when the heartbeat or the lease changes", () => {
  const n = node({ status: "True", hb: "2026-01-01T00:00:10Z" });
  let h = observeNodeHealth(n, lease("2026-01-01T00:00:10.000000Z"), undefined, 1_000);
  h = observeNodeHealth(n, lease("2026-01-01T00:00:10.000000Z"), h, 50_000);
  assert.equal(h.probeTimestamp, 1_000, "nothing changed: silent");
  h = observeNodeHealth(n, lease("2026-01-01T00:00:20.000000Z"), h, 60_000);
  assert.equal(h.probeTimestamp, 60_000, "a renewed lease is a sign of life");
  h = observeNodeHealth(
    node({ status: "True", hb: "2026-01-01T00:00:30Z" }),
    lease("2026-01-01T00:00:20.000000Z"),
    h,
    70_000,
  );
  assert.equal(h.probeTimestamp, 70_000, "a new heartbeat is a sign of life");
  assert.equal(h.readyTransitionTimestamp, 1_000);
  h = observeNodeHealth(
    node({ status: "False", hb: "2026-01-01T00:00:40Z", tr: "T9" }),
    lease("2026-01-01T00:00:20.000000Z"),
    h,
    80_000,
  );
  assert.equal(h.readyTransitionTimestamp, 80_000, "Ready transitioned");
});

Deno.test("observeNodeHealth() ignores a lease whose renewTime went backwards", () => {
  const n = node({ status: "True", hb: "hb" });
  const h1 = observeNodeHealth(n, lease("2026-01-01T00:01:00.000000Z"), undefined, 1_000);
  const h2 = observeNodeHealth(n, lease("2026-01-01T00:00:00.000000Z"), h1, 9_000);
  assert.equal(h2.probeTimestamp, 1_000);
});

Deno.test("unknownConditions() marks a silent node's conditions Unknown with upstream's reason and message", () => {
  const c = unknownConditions(node({ status: "True", hb: "hb" }), "NOW")!;
  const ready = c.find((x) => x.type === "Ready")!;
  assert.deepEqual([
    ready.status,
    ready.reason,
    ready.message,
    ready.lastTransitionTime,
    ready.lastHeartbeatTime,
  ], [
    "Unknown",
    "NodeStatusUnknown",
    "Kubelet stopped posting node status.",
    "NOW",
    "hb",
  ]);
  const never = c.find((x) => x.type === "DiskPressure")!;
  assert.deepEqual([never.status, never.reason, never.message], [
    "Unknown",
    "NodeStatusNeverUpdated",
    "Kubelet never posted node status.",
  ]);
  assert.equal(unknownConditions({ ...node(), status: { conditions: c } }, "LATER"), null);
});

Deno.test("gracePeriodFor() uses the startup grace until a Ready condition exists", () => {
  assert.equal(gracePeriodFor(node(), 40, 60), 60);
  assert.equal(gracePeriodFor(node({ status: "True", hb: "x" }), 40, 60), 40);
});

Deno.test("computeZoneState() follows upstream's thresholds", () => {
  assert.equal(computeZoneState(["False", "Unknown"], 0.55), "FullDisruption");
  assert.equal(computeZoneState(["True", "False", "False", "False"], 0.55), "PartialDisruption");
  assert.equal(computeZoneState(["True", "False", "False"], 0.55), "Normal");
  assert.equal(computeZoneState(["True", "Unknown"], 0.55), "Normal");
});

Deno.test("zoneKey() combines the region and zone labels", () => {
  assert.equal(zoneKey(node(undefined, {})), "");
  assert.equal(
    zoneKey(node(undefined, { "topology.kubernetes.io/zone": "z1", "topology.kubernetes.io/region": "r" })),
    "r:\x00:z1",
  );
});

Deno.test("TokenBucket accepts a burst, then at the configured rate", () => {
  const b = new TokenBucket(0.5, 1, 0);
  assert.ok(b.tryAccept(0));
  assert.ok(!b.tryAccept(1_000));
  assert.ok(b.tryAccept(2_000));
});
