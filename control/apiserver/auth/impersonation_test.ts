import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import type { Authorizer } from "../context.ts";
import { impersonate, impersonationRequest } from "./impersonation.ts";

Deno.test("impersonationRequest() asks for users, groups, uids and extras, and adds system:authenticated", () => {
  const r = impersonationRequest(new Headers({
    "Impersonate-User": "bob",
    "Impersonate-Group": "devs, ops",
    "Impersonate-Uid": "u-1",
    "Impersonate-Extra-Scopes%2Fread": "a",
  }))!;
  assert.deepEqual(r.targets.map((t) => `${t.group}/${t.resource}${t.subresource ? `/${t.subresource}` : ""}:${t.name}`), [
    "/users:bob",
    "/groups:devs",
    "/groups:ops",
    "authentication.k8s.io/userextras/scopes/read:a",
    "authentication.k8s.io/uids:u-1",
  ]);
  assert.deepEqual(r.user, {
    username: "bob",
    groups: ["devs", "ops", "system:authenticated"],
    uid: "u-1",
    extra: { "scopes/read": ["a"] },
  });
});

Deno.test("impersonationRequest() gives a ServiceAccount its groups and checks serviceaccounts in its namespace", () => {
  const r = impersonationRequest(new Headers({ "Impersonate-User": "system:serviceaccount:ci:builder" }))!;
  assert.deepEqual(r.targets, [{ group: "", resource: "serviceaccounts", namespace: "ci", name: "builder" }]);
  assert.deepEqual(r.user.groups, ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"]);
  const anon = impersonationRequest(new Headers({ "Impersonate-User": "system:anonymous" }))!;
  assert.deepEqual(anon.user.groups, ["system:unauthenticated"]);
});

Deno.test("impersonationRequest() refuses groups without a user with a 400, and is null without headers", () => {
  assert.equal(impersonationRequest(new Headers()), null);
  assert.throws(() => impersonationRequest(new Headers({ "Impersonate-Group": "devs" })), (e) => e instanceof ApiError && e.code === 400);
});

Deno.test("impersonate() asks the authorizer for each target and refuses with upstream's 403 message", async () => {
  const asked: string[] = [];
  const authz: Authorizer = {
    authorize: ({ info }) => {
      asked.push(`${info.verb} ${info.resource} ${info.name}`);
      return Promise.resolve({ allowed: info.resource === "users" });
    },
  };
  const alice = { username: "alice", groups: [] };
  assert.equal((await impersonate(new Headers({ "Impersonate-User": "bob" }), alice, authz))?.username, "bob");
  await assert.rejects(
    impersonate(new Headers({ "Impersonate-User": "bob", "Impersonate-Group": "admins" }), alice, authz),
    (e) =>
      e instanceof ApiError && e.code === 403 &&
      e.message === 'groups "admins" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
  );
  assert.deepEqual(asked, ["impersonate users bob", "impersonate users bob", "impersonate groups admins"]);
});
