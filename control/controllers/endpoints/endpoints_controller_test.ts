import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { desiredEndpoints, endpointsUpToDate, HEADLESS_LABEL } from "./endpoints_controller.ts";
import { LAST_CHANGE_TRIGGER_TIME } from "./trigger_time.ts";

const svc: KubeObject = {
  metadata: { name: "web", namespace: "default", labels: { team: "a" } },
  spec: {
    clusterIP: "None",
    selector: { app: "web" },
    ports: [{ name: "http", port: 80, targetPort: 8080 }],
  },
};
const pod: KubeObject = {
  metadata: { name: "a", namespace: "default", uid: "ua", labels: { app: "web" } },
  spec: { containers: [{ name: "c" }] },
  status: { phase: "Running", podIP: "10.0.0.2", conditions: [{ type: "Ready", status: "True" }] },
};

Deno.test("desiredEndpoints() labels like the Service, marks headless, and annotates the trigger time", () => {
  const ep = desiredEndpoints(svc, [pod], undefined, Date.parse("2026-01-01T00:00:00Z"));
  assert.deepEqual(ep.metadata.labels, { team: "a", [HEADLESS_LABEL]: "" });
  assert.equal(ep.metadata.annotations![LAST_CHANGE_TRIGGER_TIME], "2026-01-01T00:00:00Z");
  assert.deepEqual(ep.subsets, [{
    addresses: [{ ip: "10.0.0.2", targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "ua" } }],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  }]);
});

Deno.test("endpointsUpToDate() ignores the trigger time but not subsets or labels", () => {
  const cur = desiredEndpoints(svc, [pod], undefined, 1);
  assert.ok(endpointsUpToDate(cur, desiredEndpoints(svc, [pod], cur, 0)));
  assert.ok(!endpointsUpToDate(cur, desiredEndpoints(svc, [], cur, 0)));
  assert.ok(
    !endpointsUpToDate(
      cur,
      desiredEndpoints({ ...svc, metadata: { ...svc.metadata, labels: {} } }, [pod], cur, 0),
    ),
  );
});
