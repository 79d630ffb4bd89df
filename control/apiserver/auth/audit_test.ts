import assert from "node:assert/strict";
import { parseRequestInfo } from "../request_info.ts";
import { auditLevel, auditLine, DEFAULT_AUDIT_POLICY } from "./audit.ts";

const info = (method: string, path: string) => parseRequestInfo(method, path, new URLSearchParams());
const alice = { username: "alice", groups: ["system:authenticated"] };

Deno.test("auditLevel() takes the first matching rule of the default policy", () => {
  assert.equal(auditLevel(DEFAULT_AUDIT_POLICY, alice, info("GET", "/healthz")), "None");
  assert.equal(auditLevel(DEFAULT_AUDIT_POLICY, alice, info("POST", "/api/v1/namespaces/a/secrets")), "Metadata");
  assert.equal(auditLevel(DEFAULT_AUDIT_POLICY, alice, info("POST", "/api/v1/namespaces/a/serviceaccounts/x/token")), "Metadata");
  assert.equal(auditLevel(DEFAULT_AUDIT_POLICY, alice, info("POST", "/apis/apps/v1/namespaces/a/deployments")), "Request");
  assert.equal(auditLevel(DEFAULT_AUDIT_POLICY, alice, info("GET", "/api/v1/namespaces/a/pods")), "Metadata");
  const scheduler = { username: "system:kube-scheduler", groups: [] };
  assert.equal(auditLevel(DEFAULT_AUDIT_POLICY, scheduler, info("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l")), "None");
});

Deno.test("auditLevel() matches users, groups, namespaces and subresources; None when no rule matches", () => {
  const policy = {
    rules: [
      { level: "Request" as const, userGroups: ["ops"], namespaces: ["prod"] },
      { level: "Metadata" as const, resources: [{ group: "", resources: ["pods/log"] }] },
    ],
  };
  assert.equal(auditLevel(policy, { username: "o", groups: ["ops"] }, info("GET", "/api/v1/namespaces/prod/pods")), "Request");
  assert.equal(auditLevel(policy, alice, info("GET", "/api/v1/namespaces/prod/pods/p/log")), "Metadata");
  assert.equal(auditLevel(policy, alice, info("GET", "/api/v1/namespaces/prod/pods/p")), "None");
});

Deno.test("auditLine() writes upstream's Event with the decision and latency annotations", () => {
  const e = JSON.parse(auditLine({
    auditID: "id",
    stage: "ResponseComplete",
    level: "Request",
    requestURI: "/api/v1/namespaces/a/configmaps",
    info: info("POST", "/api/v1/namespaces/a/configmaps"),
    user: alice,
    sourceIPs: ["127.0.0.1"],
    code: 201,
    decision: "allow",
    requestObject: { metadata: { name: "x" } },
    receivedAt: Date.parse("2026-01-01T00:00:00Z"),
    now: Date.parse("2026-01-01T00:00:00Z") + 1.5,
  }));
  assert.equal(e.apiVersion, "audit.k8s.io/v1");
  assert.deepEqual(e.objectRef, { resource: "configmaps", namespace: "a", apiGroup: "", apiVersion: "v1" });
  assert.equal(e.annotations["skiff.dev/latency-ms"], "1.500");
  assert.equal(e.annotations["authorization.k8s.io/decision"], "allow");
  assert.equal(e.stageTimestamp, "2026-01-01T00:00:00.001500Z");
  assert.deepEqual(e.requestObject, { metadata: { name: "x" } });
});
