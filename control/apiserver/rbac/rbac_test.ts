import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { RbacAuthorizer } from "./rbac.ts";
import { RbacCache } from "./rbac_cache.ts";
import { attributes } from "./types.ts";

const G = "rbac.authorization.k8s.io";

function cacheWith(
  objects: [plural: "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings", KubeObject][],
) {
  const cache = new RbacCache();
  for (const [plural, o] of objects) cache.sink(plural).set(o);
  return cache;
}

const podReader = {
  metadata: { name: "pod-reader", namespace: "team-a" },
  rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }],
};
const viewAll = {
  metadata: { name: "view-all" },
  rules: [{ verbs: ["get"], apiGroups: ["*"], resources: ["*"] }],
};

Deno.test("RbacAuthorizer allows through a RoleBinding only in its namespace", () => {
  const cache = cacheWith([
    ["roles", podReader],
    ["rolebindings", {
      metadata: { name: "b", namespace: "team-a" },
      roleRef: { apiGroup: G, kind: "Role", name: "pod-reader" },
      subjects: [{ kind: "Group", name: "team-a" }],
    }],
  ]);
  const rbac = new RbacAuthorizer(cache);
  const alice = { username: "alice", groups: ["team-a"] };
  assert.equal(
    rbac.authorize(attributes(alice, { verb: "list", resource: "pods", namespace: "team-a" })).decision,
    "allow",
  );
  assert.equal(
    rbac.authorize(attributes(alice, { verb: "list", resource: "pods", namespace: "team-b" })).decision,
    "noOpinion",
  );
  assert.equal(rbac.authorize(attributes(alice, { verb: "list", resource: "pods" })).decision, "noOpinion");
  assert.equal(
    rbac.authorize(attributes(alice, { verb: "delete", resource: "pods", namespace: "team-a" })).decision,
    "noOpinion",
  );
  const bob = { username: "bob", groups: ["team-b"] };
  assert.equal(
    rbac.authorize(attributes(bob, { verb: "list", resource: "pods", namespace: "team-a" })).decision,
    "noOpinion",
  );
});

Deno.test("RbacAuthorizer applies ClusterRoles through both binding kinds and ServiceAccount subjects", () => {
  const cache = cacheWith([
    ["clusterroles", viewAll],
    ["rolebindings", {
      metadata: { name: "b", namespace: "ns1" },
      roleRef: { apiGroup: G, kind: "ClusterRole", name: "view-all" },
      subjects: [{ kind: "ServiceAccount", name: "robot" }],
    }],
    ["clusterrolebindings", {
      metadata: { name: "c" },
      roleRef: { apiGroup: G, kind: "ClusterRole", name: "view-all" },
      subjects: [{ kind: "User", name: "carol" }],
    }],
  ]);
  const rbac = new RbacAuthorizer(cache);
  const robot = { username: "system:serviceaccount:ns1:robot", groups: [] };
  assert.equal(
    rbac.authorize(attributes(robot, { verb: "get", resource: "secrets", namespace: "ns1", name: "s" }))
      .decision,
    "allow",
  );
  assert.equal(
    rbac.authorize(attributes(robot, { verb: "get", resource: "secrets", namespace: "ns2", name: "s" }))
      .decision,
    "noOpinion",
  );
  const carol = { username: "carol", groups: [] };
  assert.equal(
    rbac.authorize(
      attributes(carol, { verb: "get", group: "apps", resource: "deployments", namespace: "x", name: "d" }),
    ).decision,
    "allow",
  );
  assert.equal(rbac.rulesFor(carol, "x").rules.length, 1);
});

Deno.test("RbacAuthorizer explains bindings to roles that do not exist", () => {
  const cache = cacheWith([
    ["clusterrolebindings", {
      metadata: { name: "c" },
      roleRef: { apiGroup: G, kind: "ClusterRole", name: "ghost" },
      subjects: [{ kind: "User", name: "dave" }],
    }],
  ]);
  const r = new RbacAuthorizer(cache).authorize(
    attributes({ username: "dave", groups: [] }, { verb: "get", resource: "pods" }),
  );
  assert.deepEqual(r, {
    decision: "noOpinion",
    reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found',
  });
});

Deno.test("RbacCache forgets a binding's subjects when it changes or goes away", () => {
  const cache = cacheWith([["clusterroles", viewAll]]);
  const rbac = new RbacAuthorizer(cache);
  const b = {
    metadata: { name: "c" },
    roleRef: { apiGroup: G, kind: "ClusterRole", name: "view-all" },
    subjects: [{ kind: "User", name: "erin" }],
  };
  const erin = attributes({ username: "erin", groups: [] }, {
    verb: "get",
    resource: "pods",
    namespace: "x",
  });
  cache.sink("clusterrolebindings").set(b);
  assert.equal(rbac.authorize(erin).decision, "allow");
  cache.sink("clusterrolebindings").set({ ...b, subjects: [{ kind: "User", name: "frank" }] });
  assert.equal(rbac.authorize(erin).decision, "noOpinion");
  cache.sink("clusterrolebindings").reset([b]);
  assert.equal(rbac.authorize(erin).decision, "allow");
  cache.sink("clusterrolebindings").delete(b);
  assert.equal(rbac.authorize(erin).decision, "noOpinion");
  assert.equal(cache.clusterRoleBindings.size, 0);
});

Deno.test("RbacAuthorizer's remembered decisions follow every change of roles and bindings", () => {
  const cache = cacheWith([["roles", podReader]]);
  const rbac = new RbacAuthorizer(cache);
  const bob = { username: "bob", groups: ["dev"] };
  const list = attributes(bob, { verb: "list", resource: "pods", namespace: "team-a" });
  const binding = {
    metadata: { name: "b", namespace: "team-a" },
    roleRef: { apiGroup: G, kind: "Role", name: "pod-reader" },
    subjects: [{ kind: "User", name: "bob" }],
  };
  assert.equal(rbac.authorize(list).decision, "noOpinion");
  assert.equal(rbac.authorize(list).decision, "noOpinion", "asked twice: the same answer");
  cache.sink("rolebindings").set(binding);
  assert.equal(rbac.authorize(list).decision, "allow", "a new binding counts at once");
  cache.sink("roles").set({
    ...podReader,
    rules: [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }],
  });
  assert.equal(rbac.authorize(list).decision, "noOpinion", "a narrowed role counts at once");
  cache.sink("roles").set(podReader);
  assert.equal(rbac.authorize(list).decision, "allow");
  cache.sink("rolebindings").delete(binding);
  assert.equal(rbac.authorize(list).decision, "noOpinion", "a deleted binding counts at once");
  // Same name, other groups: another decision, not a remembered one.
  cache.sink("rolebindings").set({ ...binding, subjects: [{ kind: "Group", name: "dev" }] });
  assert.equal(rbac.authorize(list).decision, "allow");
  assert.equal(
    rbac.authorize(
      attributes({ username: "bob", groups: [] }, { verb: "list", resource: "pods", namespace: "team-a" }),
    ).decision,
    "noOpinion",
  );
});
