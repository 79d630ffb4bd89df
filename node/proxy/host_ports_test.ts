import assert from "node:assert/strict";
import type { KubeObject } from "../../control/api/types.ts";
import { hostPortPlan } from "./host_ports.ts";
import { desiredState, emptyState, hostPortChain, planUpdate } from "./nft_rules.ts";

function pod(
  name: string,
  ports: Record<string, unknown>[],
  o: { ip?: string; node?: string; phase?: string; created?: string; hostNetwork?: boolean } = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", creationTimestamp: o.created ?? "2026-01-01T00:00:00Z" },
    spec: { nodeName: o.node ?? "n1", hostNetwork: o.hostNetwork, containers: [{ name: "c", ports }] },
    status: { phase: o.phase ?? "Running", podIP: o.ip ?? "198.18.0.5" },
  };
}

Deno.test("hostPortPlan maps hostPort to the pod IP and containerPort, honouring hostIP and protocol", () => {
  const plan = hostPortPlan([
    pod("web", [
      { containerPort: 8080, hostPort: 18080 },
      { containerPort: 53, hostPort: 1053, protocol: "UDP", hostIP: "127.0.0.1" },
      { containerPort: 9090 }, // no hostPort: not published
      { containerPort: 7070, hostPort: 17070, hostIP: "0.0.0.0" },
    ]),
  ], "n1");
  assert.deepEqual(plan.conflicts, []);
  assert.deepEqual(plan.mappings, [
    {
      pod: "default/web",
      protocol: "tcp",
      hostIP: undefined,
      hostPort: 18080,
      podIP: "198.18.0.5",
      containerPort: 8080,
    },
    {
      pod: "default/web",
      protocol: "udp",
      hostIP: "127.0.0.1",
      hostPort: 1053,
      podIP: "198.18.0.5",
      containerPort: 53,
    },
    {
      pod: "default/web",
      protocol: "tcp",
      hostIP: undefined,
      hostPort: 17070,
      podIP: "198.18.0.5",
      containerPort: 7070,
    },
  ]);
});

Deno.test("hostPortPlan skips pods of other nodes, without an IP, terminal, or on the host network", () => {
  const ports = [{ containerPort: 80, hostPort: 8000 }];
  const plan = hostPortPlan([
    pod("other-node", ports, { node: "n2" }),
    pod("no-ip", ports, { ip: "" }),
    pod("done", ports, { phase: "Succeeded" }),
    pod("failed", ports, { phase: "Failed" }),
    pod("host", ports, { hostNetwork: true }),
  ], "n1");
  assert.deepEqual(plan, { mappings: [], conflicts: [] });
});

Deno.test("hostPortPlan: on a conflict the older pod keeps the port; distinct hostIPs and protocols coexist", () => {
  const plan = hostPortPlan([
    pod("young", [{ containerPort: 80, hostPort: 8000 }], {
      ip: "198.18.0.7",
      created: "2026-01-02T00:00:00Z",
    }),
    pod("old", [{ containerPort: 80, hostPort: 8000, hostIP: "127.0.0.1" }], { ip: "198.18.0.6" }),
    pod("udp", [{ containerPort: 80, hostPort: 8000, protocol: "UDP" }], { ip: "198.18.0.8" }),
    pod("other-ip", [{ containerPort: 80, hostPort: 8000, hostIP: "127.0.0.2" }], { ip: "198.18.0.9" }),
  ], "n1");
  assert.deepEqual(plan.mappings.map((m) => m.pod), ["default/old", "default/other-ip", "default/udp"]);
  assert.deepEqual(plan.conflicts, [
    { pod: "default/young", holder: "default/old", protocol: "tcp", hostIP: undefined, hostPort: 8000 },
  ]);
});

Deno.test("host ports become map elements and a DNAT chain, removed again when the pod goes", () => {
  const [m] = hostPortPlan([pod("web", [{ containerPort: 8080, hostPort: 18080 }])], "n1").mappings;
  const withPod = desiredState([], new Map(), [m]);
  assert.deepEqual(withPod.chains.get(hostPortChain(m)), [
    "ip saddr 198.18.0.5 jump mark-for-masquerade",
    "meta l4proto tcp dnat to 198.18.0.5:8080",
  ]);
  assert.equal(withPod.elements.get("host-ports")?.get("tcp . 18080"), `goto ${hostPortChain(m)}`);
  const add = planUpdate("T", emptyState(), withPod);
  assert.ok(
    add.includes(`add element ip T host-ports { tcp . 18080 : goto ${hostPortChain(m)} }`),
    add.join("\n"),
  );
  const remove = planUpdate("T", withPod, desiredState([], new Map(), []));
  assert.deepEqual(remove, [
    "delete element ip T host-ports { tcp . 18080 }",
    `flush chain ip T ${hostPortChain(m)}`,
    `delete chain ip T ${hostPortChain(m)}`,
  ]);
  const [h] = hostPortPlan(
    [pod("dns", [{ containerPort: 53, hostPort: 53, protocol: "UDP", hostIP: "127.0.0.1" }])],
    "n1",
  )
    .mappings;
  assert.equal(
    desiredState([], new Map(), [h]).elements.get("host-ip-ports")?.get("127.0.0.1 . udp . 53"),
    `goto ${hostPortChain(h)}`,
  );
});
