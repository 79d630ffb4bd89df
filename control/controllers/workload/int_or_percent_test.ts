import assert from "node:assert/strict";
import { scaledValue } from "./int_or_percent.ts";

Deno.test("scaledValue() rounds percentages up or down as asked", () => {
  assert.equal(scaledValue("25%", 10, true), 3);
  assert.equal(scaledValue("25%", 10, false), 2);
  assert.equal(scaledValue("100%", 7, false), 7);
  assert.equal(scaledValue(3, 10, true), 3);
  assert.equal(scaledValue(undefined, 10, true), 0);
});

Deno.test("scaledValue() rejects strings that are not percentages", () => {
  assert.throws(() => scaledValue("3", 10, true), /not a percentage/);
});
