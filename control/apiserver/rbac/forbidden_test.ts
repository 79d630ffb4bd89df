import assert from "node:assert/strict";
import { forbiddenError } from "./forbidden.ts";
import { attributes } from "./types.ts";

const alice = { username: "alice", groups: [] };

Deno.test("forbiddenError() writes upstream's namespaced, cluster, named and subresource denials", () => {
  const list = forbiddenError(attributes(alice, { verb: "list", resource: "pods", namespace: "team-b" }));
  assert.equal(list.code, 403);
  assert.equal(list.reason, "Forbidden");
  assert.equal(
    list.message,
    'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"',
  );
  assert.deepEqual(list.status.details, { kind: "pods" });
  const node = forbiddenError(attributes(alice, { verb: "get", resource: "nodes", name: "n1" }));
  assert.equal(
    node.message,
    'nodes "n1" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the cluster scope',
  );
  assert.deepEqual(node.status.details, { name: "n1", kind: "nodes" });
  const log = forbiddenError(
    attributes(alice, { verb: "get", resource: "pods", subresource: "log", name: "web", namespace: "b" }),
  );
  assert.equal(
    log.message,
    'pods "web" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "b"',
  );
  const deploy = forbiddenError(
    attributes(alice, { verb: "create", group: "apps", resource: "deployments", namespace: "b" }),
    "RBAC: x",
  );
  assert.equal(
    deploy.message,
    'deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "b": RBAC: x',
  );
  assert.deepEqual(deploy.status.details, { group: "apps", kind: "deployments" });
});

Deno.test("forbiddenError() writes upstream's non-resource denial", () => {
  const e = forbiddenError(attributes(alice, { resourceRequest: false, verb: "get", path: "/metrics" }));
  assert.equal(e.message, 'forbidden: User "alice" cannot get path "/metrics"');
});
