import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { cacheWith, pv } from "../testing.ts";
import { priorityClass } from "./priority_class.ts";

Deno.test("PriorityClass rejects a pod naming a PriorityClass that does not exist", () => {
  assert.deepEqual(
    priorityClass.preFilter(new CycleState(), pv("p", { priorityClassName: "gold" }), cacheWith([])),
    {
      code: "UnschedulableAndUnresolvable",
      reasons: ["no PriorityClass with name gold was found"],
    },
  );
  assert.equal(priorityClass.preFilter(new CycleState(), pv("p"), cacheWith([])), null);
});
