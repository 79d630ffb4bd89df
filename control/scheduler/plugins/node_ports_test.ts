import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { cacheWith, nodeInfo, nv, pv } from "../testing.ts";
import { ERR_REASON_NODE_PORTS, nodePorts, portsConflict } from "./node_ports.ts";

Deno.test("NodePorts rejects a node where another pod holds the host port", () => {
  const st = new CycleState();
  const p = pv("p", { hostPort: 8080 });
  assert.equal(nodePorts.preFilter(st, p, cacheWith([])), null);
  assert.deepEqual(nodePorts.filter(st, p, nodeInfo(nv("n"), [pv("a", { hostPort: 8080 })])), {
    code: "Unschedulable",
    reasons: [ERR_REASON_NODE_PORTS],
  });
  assert.equal(nodePorts.filter(st, p, nodeInfo(nv("n"), [pv("a", { hostPort: 9090 })])), null);
});

Deno.test("portsConflict() treats 0.0.0.0 as every address and compares protocols", () => {
  assert.ok(
    portsConflict({ hostIP: "0.0.0.0", protocol: "TCP", port: 1 }, {
      hostIP: "10.0.0.1",
      protocol: "TCP",
      port: 1,
    }),
  );
  assert.ok(
    !portsConflict({ hostIP: "10.0.0.2", protocol: "TCP", port: 1 }, {
      hostIP: "10.0.0.1",
      protocol: "TCP",
      port: 1,
    }),
  );
  assert.ok(
    !portsConflict({ hostIP: "0.0.0.0", protocol: "UDP", port: 1 }, {
      hostIP: "0.0.0.0",
      protocol: "TCP",
      port: 1,
    }),
  );
});

Deno.test("NodePorts skips pods without host ports", () => {
  assert.deepEqual(nodePorts.preFilter(new CycleState(), pv("p"), cacheWith([])), {
    code: "Skip",
    reasons: [],
  });
});
