import assert from "node:assert/strict";
import {
  bootstrapClusterRoleBindings,
  bootstrapClusterRoles,
} from "../../control/apiserver/rbac/bootstrap_policy.ts";
import {
  ingressControllerRole,
  ingressTokenRenewal,
  networkRbacObjects,
  NODE_NETWORK_ROLE,
  NODE_PROXIER_ROLE,
  nodeNetworkRole,
} from "./rbac.ts";

/** `system:node-proxier` as the API server creates it. */
const nodeProxierRole = () => bootstrapClusterRoles().find((r) => r.metadata.name === NODE_PROXIER_ROLE)!;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const grants = (rules: Rule[], resource: string, verb: string) =>
  rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));

Deno.test("the roles bound to a node read no Secrets and write nothing but events", () => {
  for (const role of [nodeProxierRole(), nodeNetworkRole()]) {
    const rules = role.rules as Rule[];
    assert.equal(grants(rules, "secrets", "get") || grants(rules, "secrets", "list"), false, role.metadata.name);
    for (const r of rules) {
      if (!r.resources.includes("events")) assert.ok(r.verbs.every((v) => ["get", "list", "watch"].includes(v)), JSON.stringify(r));
    }
  }
  // Upstream's system:node-proxier, verbatim, among the API server's default roles.
  assert.deepEqual((nodeProxierRole().rules as Rule[]).map((r) => [r.resources.join(","), r.verbs.join(",")]), [
    ["services,endpoints", "list,watch"],
    ["nodes", "get,list,watch"],
    ["events", "create,patch,update"],
    ["endpointslices", "list,watch"],
  ]);
});

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

Deno.test("system:node-proxier is a default role bound to system:kube-proxy, as upstream; skiff up adds only per-node bindings", () => {
  const role = nodeProxierRole();
  assert.equal(role.metadata.labels?.["kubernetes.io/bootstrapping"], "rbac-defaults");
  assert.equal(role.metadata.annotations?.["rbac.authorization.kubernetes.io/autoupdate"], "true");
  const binding = bootstrapClusterRoleBindings().find((b) => b.metadata.name === NODE_PROXIER_ROLE)!;
  assert.equal(binding.roleRef.name, NODE_PROXIER_ROLE);
  assert.deepEqual(binding.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:kube-proxy" }]);
  const { roles, bindings } = networkRbacObjects("n1");
  assert.ok(!roles.some((r) => r.metadata.name === NODE_PROXIER_ROLE), "skiff up must not own the default role");
  assert.deepEqual(bindings.filter((b) => b.roleRef.name === NODE_PROXIER_ROLE).map((b) => b.metadata.name), [
    `${NODE_PROXIER_ROLE}:n1`,
  ]);
});

Deno.test("the Ingress controller's account may create tokens of itself only", () => {
  const { role, binding } = ingressTokenRenewal();
  assert.equal(role.kind, "Role");
  assert.equal(role.metadata.namespace, "skiff-system");
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: ["ingress-controller"], verbs: ["create"] },
  ]);
  assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "ingress-controller", namespace: "skiff-system" }]);
});
