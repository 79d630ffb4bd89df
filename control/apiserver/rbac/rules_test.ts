import assert from "node:assert/strict";
import { nonResourceURLMatches, ruleAllows, subjectApplies } from "./rules.ts";
import { attributes, type PolicyRule } from "./types.ts";

const alice = { username: "alice", groups: ["team-a", "system:authenticated"] };
const req = (a: Parameters<typeof attributes>[1]) => attributes(alice, a);

Deno.test("ruleAllows() matches verb, group, resource and name as upstream", () => {
  const rule: PolicyRule = { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] };
  assert.equal(ruleAllows(req({ verb: "get", resource: "pods", name: "web" }), rule), true);
  assert.equal(ruleAllows(req({ verb: "delete", resource: "pods", name: "web" }), rule), false);
  assert.equal(ruleAllows(req({ verb: "get", group: "apps", resource: "pods" }), rule), false);
  assert.equal(ruleAllows(req({ verb: "get", resource: "secrets" }), rule), false);
  const named: PolicyRule = {
    verbs: ["get"],
    apiGroups: ["*"],
    resources: ["configmaps"],
    resourceNames: ["cfg"],
  };
  assert.equal(
    ruleAllows(req({ verb: "get", group: "x", resource: "configmaps", name: "cfg" }), named),
    true,
  );
  assert.equal(ruleAllows(req({ verb: "get", resource: "configmaps", name: "other" }), named), false);
  assert.equal(
    ruleAllows(req({ verb: "list", resource: "configmaps" }), { ...named, verbs: ["list"] }),
    false,
  );
});

Deno.test("ruleAllows() needs the subresource named, or `*` or `*/subresource`", () => {
  const podsOnly: PolicyRule = { verbs: ["*"], apiGroups: [""], resources: ["pods"] };
  const log = req({ verb: "get", resource: "pods", subresource: "log", name: "web" });
  assert.equal(ruleAllows(log, podsOnly), false);
  assert.equal(ruleAllows(log, { ...podsOnly, resources: ["pods/log"] }), true);
  assert.equal(ruleAllows(log, { ...podsOnly, resources: ["*/log"] }), true);
  assert.equal(ruleAllows(log, { ...podsOnly, resources: ["*/exec"] }), false);
  assert.equal(ruleAllows(log, { ...podsOnly, resources: ["*"] }), true);
});

Deno.test("nonResourceURLMatches() accepts exact paths and prefixes ending in *", () => {
  const rule: PolicyRule = { verbs: ["get"], nonResourceURLs: ["/healthz", "/apis/*"] };
  assert.equal(nonResourceURLMatches(rule, "/healthz"), true);
  assert.equal(nonResourceURLMatches(rule, "/healthz/etcd"), false);
  assert.equal(nonResourceURLMatches(rule, "/apis/apps/v1"), true);
  assert.equal(nonResourceURLMatches(rule, "/api"), false);
  assert.equal(ruleAllows(req({ resourceRequest: false, verb: "get", path: "/apis/x" }), rule), true);
  assert.equal(ruleAllows(req({ resourceRequest: false, verb: "post", path: "/apis/x" }), rule), false);
});

Deno.test("subjectApplies() resolves users, groups and ServiceAccounts in the binding's namespace", () => {
  assert.equal(subjectApplies(alice, { kind: "User", name: "alice" }, ""), true);
  assert.equal(subjectApplies(alice, { kind: "Group", name: "team-a" }, ""), true);
  assert.equal(subjectApplies(alice, { kind: "Group", name: "team-b" }, ""), false);
  const sa = { username: "system:serviceaccount:ns1:robot", groups: [] };
  assert.equal(subjectApplies(sa, { kind: "ServiceAccount", name: "robot" }, "ns1"), true);
  assert.equal(subjectApplies(sa, { kind: "ServiceAccount", name: "robot" }, "ns2"), false);
  assert.equal(subjectApplies(sa, { kind: "ServiceAccount", name: "robot" }, ""), false);
  assert.equal(subjectApplies(sa, { kind: "ServiceAccount", name: "robot", namespace: "ns1" }, ""), true);
});
