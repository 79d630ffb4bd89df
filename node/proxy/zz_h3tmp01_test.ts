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

Deno.test("the roles bound to a node read no Secrets and write nothing but events", () => {
  for (const role of [nodeProxierRole(), nodeNetworkRole()]) {
    const rules = role.rules as Rule[];
    assert.equal(grants(rules, "secrets", "get") || grants(rules, "secrets", "list"), false, role.metadata.name);
    for (const r of rules) {
      if (!r.resources.includes("events")) assert.ok(r.verbs.every((v) => ["get", "list", "watch"].includes(v)), JSON.stringify(r));
    }
  }
  // Upstream's system:node-proxier, verbatim.
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
