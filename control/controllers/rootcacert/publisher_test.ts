import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { DESCRIPTION, desiredRootCA } from "./publisher.ts";

const ns = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, ...extra },
  status: { phase: "Active" },
});

Deno.test("desiredRootCA() creates kube-root-ca.crt in an active namespace and repairs a changed one", () => {
  const plan = desiredRootCA(ns("team"), undefined, "PEM");
  assert.deepEqual(plan?.create?.data, { "ca.crt": "PEM" });
  assert.equal(plan?.create?.metadata.annotations?.["kubernetes.io/description"], DESCRIPTION);
  const current = plan!.create!;
  assert.equal(desiredRootCA(ns("team"), current, "PEM"), null);
  const changed = { ...current, data: { "ca.crt": "OLD", extra: "x" } };
  assert.deepEqual(desiredRootCA(ns("team"), changed, "PEM")?.update?.data, { "ca.crt": "PEM" });
});

Deno.test("desiredRootCA() leaves terminating namespaces alone", () => {
  assert.equal(
    desiredRootCA(ns("gone", { deletionTimestamp: "2026-01-01T00:00:00Z" }), undefined, "PEM"),
    null,
  );
  assert.equal(desiredRootCA(undefined, undefined, "PEM"), null);
});
