import assert from "node:assert/strict";
import {
  ingressControllerRole,
  networkRbacObjects,
  NODE_NETWORK_ROLE,
  NODE_PROXIER_ROLE,
  nodeNetworkRole,
  nodeProxierRole,
} from "./rbac.ts";

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const grants = (rules: Rule[], resource: string, verb: string) =>
  rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));

Deno.test("the Ingress controller's role reads TLS Secrets and writes only Ingress status and events", () => {
  const rules = ingressControllerRole().rules as Rule[];
  assert.ok(grants(rules, "secrets", "list") && grants(rules, "secrets", "watch"));
  assert.ok(grants(rules, "ingresses/status", "patch"));
  assert.equal(grants(rules, "pods", "list"), false);
  for (const r of rules) {
    if (!["ingresses/status", "events"].includes(r.resources[0])) {
      assert.ok(r.verbs.every((v) => ["get", "list", "watch"].includes(v)), JSON.stringify(r));
    }
  }
});

Deno.test("networkRbacObjects() binds the node roles to that node's user only, and the Ingress role to its ServiceAccount", () => {
  const { bindings } = networkRbacObjects("n1");
  const by = new Map(bindings.map((b) => [b.metadata.name, b]));
  assert.deepEqual(by.get(`${NODE_PROXIER_ROLE}:n1`)!.subjects, [
    { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:node:n1" },
  ]);
  assert.equal(by.get(`${NODE_NETWORK_ROLE}:n1`)!.roleRef.name, NODE_NETWORK_ROLE);
  assert.deepEqual(by.get("skiff:ingress-controller")!.subjects, [
    { kind: "ServiceAccount", name: "ingress-controller", namespace: "skiff-system" },
  ]);
  assert.ok(!bindings.some((b) => b.subjects.some((s: { name: string }) => s.name === "system:nodes")));
});
