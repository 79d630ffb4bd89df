import assert from "node:assert/strict";
import { priorityClassLookup, resolvePriority } from "./priority.ts";

const classes = priorityClassLookup([
  { name: "high", value: 1000, globalDefault: false },
  { name: "batch", value: 10, globalDefault: true, preemptionPolicy: "Never" },
]);

Deno.test("resolvePriority() keeps spec.priority when the pod has one", () => {
  assert.deepEqual(resolvePriority({ priority: 7, priorityClassName: "high" }, classes), {
    priority: 7,
    preemptionPolicy: "PreemptLowerPriority",
  });
});

Deno.test("resolvePriority() resolves priorityClassName to the class value", () => {
  assert.equal(resolvePriority({ priorityClassName: "high" }, classes).priority, 1000);
  assert.equal(
    resolvePriority({ priorityClassName: "system-node-critical" }, classes).priority,
    2_000_001_000,
  );
});

Deno.test("resolvePriority() uses the globalDefault class, with its preemption policy, for pods without a class", () => {
  assert.deepEqual(resolvePriority({ preemptionPolicy: "PreemptLowerPriority" }, classes), {
    priority: 10,
    preemptionPolicy: "Never",
  });
});

Deno.test("resolvePriority() reports a class that does not exist with admission's message", () => {
  const r = resolvePriority({ priorityClassName: "nope" }, classes);
  assert.equal(r.error, "no PriorityClass with name nope was found");
});

Deno.test("resolvePriority() gives 0 without any class", () => {
  assert.equal(resolvePriority({}, priorityClassLookup([])).priority, 0);
});
