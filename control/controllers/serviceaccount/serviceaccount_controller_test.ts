import assert from "node:assert/strict";
import { missingServiceAccounts } from "./serviceaccount_controller.ts";

const ns = (name: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, ...extra },
  status: { phase: "Active" },
});

Deno.test("missingServiceAccounts() asks for a default ServiceAccount in an active namespace without one", () => {
  assert.deepEqual(missingServiceAccounts(ns("team"), () => false), [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "team" } },
  ]);
});

Deno.test("missingServiceAccounts() asks for nothing when the account exists or the namespace is going away", () => {
  assert.deepEqual(missingServiceAccounts(ns("team"), () => true), []);
  assert.deepEqual(
    missingServiceAccounts(ns("team", { deletionTimestamp: "2026-01-01T00:00:00Z" }), () => false),
    [],
  );
  assert.deepEqual(
    missingServiceAccounts({ metadata: { name: "t" }, status: { phase: "Terminating" } }, () => false),
    [],
  );
  assert.deepEqual(missingServiceAccounts(undefined, () => false), []);
});
