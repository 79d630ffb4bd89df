import assert from "node:assert/strict";
import { validatePodDisruptionBudget } from "./policy.ts";

const pdb = (spec: Record<string, unknown>) => ({
  metadata: { name: "web", namespace: "default" },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
});
const messages = (spec: Record<string, unknown>) =>
  validatePodDisruptionBudget(pdb(spec)).map((c) => `${c.field}: ${c.message}`);

Deno.test("validatePodDisruptionBudget() checks the spec as upstream", () => {
  assert.deepEqual(messages({ minAvailable: 1 }), []);
  assert.deepEqual(messages({ maxUnavailable: "50%" }), []);
  const both = messages({ minAvailable: 1, maxUnavailable: 1 })[0];
  assert.match(both, /^spec: Invalid value: .*minAvailable and maxUnavailable cannot be both set$/);
  assert.deepEqual(messages({ minAvailable: -1 }), [
    "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0",
  ]);
  assert.match(messages({ maxUnavailable: "150%" })[0], /must not be greater than 100%/);
  assert.deepEqual(messages({ minAvailable: 1, unhealthyPodEvictionPolicy: "Sometimes" }), [
    'spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: ' +
    '"IfHealthyBudget", "AlwaysAllow"',
  ]);
});
