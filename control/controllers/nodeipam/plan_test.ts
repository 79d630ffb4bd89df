import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { planNode, podCIDRsOf } from "./plan.ts";

const pool = { clusterCIDR: "198.18.0.0/16", nodeCIDRMaskSize: 22 };
const node = (name: string, podCIDR?: string): KubeObject => ({
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

Deno.test("planNode() gives a Node without pod CIDRs the lowest block no other Node holds", () => {
  const nodes = [node("a", "198.18.0.0/22"), node("sim", "198.18.4.0/24"), node("new")];
  assert.deepEqual(planNode(nodes[2], nodes, new Map(), pool), { action: "assign", cidr: "198.18.8.0/22" });
  assert.deepEqual(planNode(nodes[0], nodes, new Map(), pool), { action: "none" }, "it has one");
  assert.deepEqual(planNode(undefined, nodes, new Map(), pool), { action: "none" }, "it is gone");
});

Deno.test("planNode() honours reservations: its own is kept, others' are avoided, a stolen one is replaced", () => {
  const nodes = [node("x"), node("y")];
  const reserved = new Map([["x", "198.18.0.0/22"]]);
  assert.deepEqual(planNode(nodes[0], nodes, reserved, pool), { action: "assign", cidr: "198.18.0.0/22" });
  assert.deepEqual(planNode(nodes[1], nodes, reserved, pool), { action: "assign", cidr: "198.18.4.0/22" });
  const stolen = [node("x"), node("admin-set", "198.18.0.0/22")];
  assert.deepEqual(planNode(stolen[0], stolen, reserved, pool), { action: "assign", cidr: "198.18.4.0/22" });
});

Deno.test("planNode() reports an exhausted pool, and podCIDRsOf() reads either field", () => {
  const small = { clusterCIDR: "198.18.0.0/23", nodeCIDRMaskSize: 24 };
  const nodes = [node("a", "198.18.0.0/24"), node("b", "198.18.1.0/24"), node("c")];
  assert.deepEqual(planNode(nodes[2], nodes, new Map(), small), { action: "exhausted" });
  assert.deepEqual(podCIDRsOf({ metadata: {}, spec: { podCIDR: "10.0.0.0/24" } }), ["10.0.0.0/24"]);
  assert.deepEqual(podCIDRsOf({ metadata: {}, spec: {} }), []);
});

Deno.test("planNode() never hands out a reserved range (as upstream filters out the service CIDR)", () => {
  const reserved = { ...pool, reserved: ["198.18.0.0/22", "198.18.5.0/24"] };
  assert.deepEqual(planNode(node("n"), [node("n")], new Map(), reserved), {
    action: "assign",
    cidr: "198.18.8.0/22",
  });
});
