import assert from "node:assert/strict";
import { aggregatedRules } from "../../controllers/clusterroleaggregation/aggregate.ts";
import { reconcileBinding, reconcileClusterRole } from "./bootstrap.ts";
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from "./bootstrap_policy.ts";

Deno.test("bootstrapClusterRoles() fills admin, edit and view exactly as the aggregation controller would", () => {
  const roles = bootstrapClusterRoles();
  for (const name of ["admin", "edit", "view"]) {
    const role = roles.find((r) => r.metadata.name === name)!;
    assert.deepEqual(aggregatedRules(role, roles), role.rules, name);
    assert.equal(role.metadata.labels?.["kubernetes.io/bootstrapping"], "rbac-defaults");
    assert.equal(role.metadata.annotations?.["rbac.authorization.kubernetes.io/autoupdate"], "true");
  }
  const bindings = bootstrapClusterRoleBindings();
  assert.deepEqual(bindings.find((b) => b.metadata.name === "cluster-admin")!.subjects, [
    { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:masters" },
  ]);
  for (const b of bindings) assert.ok(roles.some((r) => r.metadata.name === b.roleRef.name), b.metadata.name);
});

Deno.test("reconcileClusterRole() adds missing rules and keeps extra ones, unless autoupdate is false", () => {
  const desired = bootstrapClusterRoles().find((r) => r.metadata.name === "system:basic-user")!;
  const existing = {
    ...structuredClone(desired),
    rules: [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }],
  };
  const next = reconcileClusterRole(existing, desired)!;
  assert.equal(next.rules.length, 1 + 3);
  assert.deepEqual(next.rules[0], { verbs: ["get"], apiGroups: [""], resources: ["pods"] });
  assert.equal(reconcileClusterRole(next, desired), null);
  existing.metadata.annotations = { "rbac.authorization.kubernetes.io/autoupdate": "false" };
  assert.equal(reconcileClusterRole(existing, desired), null);
});

Deno.test("reconcileBinding() adds missing subjects", () => {
  const desired = bootstrapClusterRoleBindings().find((b) =>
    b.metadata.name === "system:public-info-viewer"
  )!;
  const existing = { ...structuredClone(desired), subjects: [desired.subjects[0]] };
  assert.deepEqual(reconcileBinding(existing, desired)!.subjects, desired.subjects);
  assert.equal(reconcileBinding(desired, desired), null);
});
