import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { buildSubsets, MAX_ENDPOINTS_CAPACITY } from "./subsets.ts";

const mkPod = (
  name: string,
  ip: string,
  ready: boolean,
  port = 8080,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { app: "web" }, ...extra },
  spec: { nodeName: "n1", containers: [{ name: "c", ports: [{ name: "http", containerPort: port }] }] },
  status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const svc = (spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: "web", namespace: "default" },
  spec: {
    selector: { app: "web" },
    ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    ...spec,
  },
});
const addr = (name: string, ip: string) => ({
  ip,
  nodeName: "n1",
  targetRef: { kind: "Pod", namespace: "default", name, uid: `uid-${name}` },
});

Deno.test("buildSubsets() groups pods by resolved port and splits ready from not ready", () => {
  const { subsets, truncated } = buildSubsets(svc(), [
    mkPod("a", "198.18.0.2", true),
    mkPod("b", "198.18.0.10", false),
    mkPod("c", "198.18.0.3", true, 9090),
  ]);
  assert.equal(truncated, false);
  assert.deepEqual(subsets, [
    {
      addresses: [addr("a", "198.18.0.2")],
      notReadyAddresses: [addr("b", "198.18.0.10")],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
    { addresses: [addr("c", "198.18.0.3")], ports: [{ name: "http", port: 9090, protocol: "TCP" }] },
  ]);
});

Deno.test("buildSubsets() leaves out terminating pods unless publishNotReadyAddresses, which also makes them ready", () => {
  const terminating = mkPod("t", "198.18.0.4", false, 8080, { deletionTimestamp: "2026-01-01T00:00:00Z" });
  assert.deepEqual(buildSubsets(svc(), [terminating]).subsets, []);
  assert.deepEqual(buildSubsets(svc({ publishNotReadyAddresses: true }), [terminating]).subsets, [
    { addresses: [addr("t", "198.18.0.4")], ports: [{ name: "http", port: 8080, protocol: "TCP" }] },
  ]);
});

Deno.test("buildSubsets() gives a headless Service without ports addresses only", () => {
  const { subsets } = buildSubsets(svc({ clusterIP: "None", ports: [] }), [mkPod("a", "198.18.0.2", true)]);
  assert.deepEqual(subsets, [{ addresses: [addr("a", "198.18.0.2")] }]);
});

Deno.test("buildSubsets() truncates beyond the capacity, keeping ready addresses first", () => {
  const pods = Array.from(
    { length: MAX_ENDPOINTS_CAPACITY + 5 },
    (_, i) => mkPod(`p${i}`, `10.1.${i >> 8}.${i & 255}`, i >= 10),
  );
  const { subsets, truncated } = buildSubsets(svc(), pods);
  assert.ok(truncated);
  assert.equal(subsets[0].addresses!.length, MAX_ENDPOINTS_CAPACITY - 5);
  assert.equal(subsets[0].notReadyAddresses!.length, 5);
});
