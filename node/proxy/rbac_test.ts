import assert from "node:assert/strict";
import {
  bootstrapClusterRoleBindings,
  bootstrapClusterRoles,
} from "../../control/apiserver/rbac/bootstrap_policy.ts";
import {
  ingressControllerRole,
  ingressTokenRenewal,
  networkRbacObjects,
  NODE_NETWORK_BINDING,
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

Deno.test("networkRbacObjects() binds the node role to every node (system:nodes), and the Ingress role to its ServiceAccount only", () => {
  const { bindings } = networkRbacObjects();
  const by = new Map(bindings.map((b) => [b.metadata.name, b]));
  const nodes = [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }];
  assert.deepEqual(by.get(NODE_NETWORK_BINDING)!.subjects, nodes);
  assert.equal(by.get(NODE_NETWORK_BINDING)!.roleRef.name, NODE_NETWORK_ROLE);
  assert.deepEqual(by.get("skiff:ingress-controller")!.subjects, [
    { kind: "ServiceAccount", name: "ingress-controller", namespace: "skiff-system" },
  ]);
  // No per-node binding, no user subject: a joined node needs nothing of its own.
  assert.ok(!bindings.some((b) => b.subjects.some((s: { kind: string }) => s.kind === "User")));
});

Deno.test("system:node-proxier is a default role bound to system:kube-proxy, as upstream; skiff up binds it to no node", () => {
  const role = nodeProxierRole();
  assert.equal(role.metadata.labels?.["kubernetes.io/bootstrapping"], "rbac-defaults");
  assert.equal(role.metadata.annotations?.["rbac.authorization.kubernetes.io/autoupdate"], "true");
  const binding = bootstrapClusterRoleBindings().find((b) => b.metadata.name === NODE_PROXIER_ROLE)!;
  assert.equal(binding.roleRef.name, NODE_PROXIER_ROLE);
  assert.deepEqual(binding.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:kube-proxy" }]);
  const { roles, bindings } = networkRbacObjects();
  assert.ok(!roles.some((r) => r.metadata.name === NODE_PROXIER_ROLE), "skiff up must not own the default role");
  // Its Node list/watch is for no add-on here: the nodes get only what they read.
  assert.deepEqual(bindings.filter((b) => b.roleRef.name === NODE_PROXIER_ROLE), []);
  assert.equal(grants(nodeNetworkRole().rules as Rule[], "nodes", "list"), false);
});

Deno.test("the Ingress controller's account and the nodes may create tokens of that account only", () => {
  const { role, binding } = ingressTokenRenewal();
  assert.equal(role.kind, "Role");
  assert.equal(role.metadata.namespace, "skiff-system");
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: ["ingress-controller"], verbs: ["create"] },
  ]);
  assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
  assert.deepEqual(binding.subjects, [
    { kind: "ServiceAccount", name: "ingress-controller", namespace: "skiff-system" },
    { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" },
  ]);
});
