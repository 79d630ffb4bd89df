import assert from "node:assert/strict";
import type { KubeObject } from "../../control/api/types.ts";
import { proxyView } from "./mod.ts";

const pod = (o: { nodeName?: string; ip?: string; ready?: boolean; phase?: string; hostPort?: number }) =>
  ({
    metadata: { namespace: "default", name: "p", creationTimestamp: "2026-11-27T15:00:00Z" },
    spec: {
      nodeName: o.nodeName,
      containers: [{
        name: "c",
        ports: [{ containerPort: 80, ...(o.hostPort ? { hostPort: o.hostPort } : {}) }],
      }],
    },
    status: {
      phase: o.phase ?? "Pending",
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      conditions: [{ type: "Ready", status: o.ready ? "True" : "False" }],
    },
  }) as unknown as KubeObject;

Deno.test("proxyView() changes only with what the proxy reads of this node's pods", () => {
  assert.equal(proxyView(pod({}), "n1"), "", "not bound");
  assert.equal(proxyView(pod({ nodeName: "n1" }), "n1"), "", "bound, no address yet: nothing to program");
  assert.equal(proxyView(pod({ nodeName: "n2", ip: "198.18.0.5" }), "n1"), "", "another node's");
  const running = proxyView(pod({ nodeName: "n1", ip: "198.18.0.5", phase: "Running" }), "n1");
  assert.notEqual(running, "");
  assert.equal(
    proxyView(pod({ nodeName: "n1", ip: "198.18.0.5", phase: "Running", ready: true }), "n1"),
    running,
    "a condition changes nothing the proxy reads",
  );
  for (
    const other of [
      pod({ nodeName: "n1", ip: "198.18.0.6", phase: "Running" }),
      pod({ nodeName: "n1", ip: "198.18.0.5", phase: "Failed" }),
      pod({ nodeName: "n1", ip: "198.18.0.5", phase: "Running", hostPort: 8080 }),
    ]
  ) assert.notEqual(proxyView(other, "n1"), running);
  const hostNet = pod({ nodeName: "n1", ip: "198.18.0.5" });
  hostNet.spec!.hostNetwork = true;
  assert.equal(proxyView(hostNet, "n1"), "");
});
