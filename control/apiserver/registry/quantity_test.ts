import assert from "node:assert/strict";
import {
  addQuantities,
  canonicalQuantity,
  compareQuantities,
  defaultResourceList,
  parseQuantity,
} from "./quantity.ts";

Deno.test("canonicalQuantity() serializes quantities as the API server does", () => {
  const cases: [unknown, string][] = [
    ["0.5", "500m"],
    ["500m", "500m"],
    ["1000m", "1"],
    ["1.5", "1500m"],
    [1, "1"],
    [0.25, "250m"],
    ["2000", "2k"],
    ["128974848", "128974848"],
    ["129e6", "129e6"],
    ["12e2", "1200"],
    ["100M", "100M"],
    ["1Gi", "1Gi"],
    ["1024Mi", "1Gi"],
    ["1536Mi", "1536Mi"],
    ["0.5Gi", "512Mi"],
    ["1000Mi", "1000Mi"],
    ["512", "512"],
    ["0", "0"],
    ["0Gi", "0"],
    ["-1", "-1"],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, String(input));
});

Deno.test("parseQuantity() rejects malformed quantities", () => {
  for (const bad of ["", "abc", "1Qi", "1.2.3", ".", "1 Gi", "--1"]) {
    assert.equal(parseQuantity(bad), undefined, bad);
  }
});

Deno.test("compareQuantities() compares binary and decimal forms exactly", () => {
  const q = (s: string) => parseQuantity(s)!;
  assert.equal(compareQuantities(q("1Gi"), q("1000Mi")), 1);
  assert.equal(compareQuantities(q("1"), q("1000m")), 0);
  assert.equal(compareQuantities(q("100m"), q("0.2")), -1);
  assert.equal(compareQuantities(q("1G"), q("1Gi")), -1);
});

Deno.test("addQuantities() adds exactly", () => {
  const sum = addQuantities(parseQuantity("100m")!, parseQuantity("0.9")!);
  assert.equal(compareQuantities(sum, parseQuantity("1")!), 0);
});

Deno.test("defaultResourceList() rounds up to milli-units and canonicalizes", () => {
  const list: Record<string, unknown> = { cpu: "0.0001", memory: "1024Mi", bad: "x" };
  defaultResourceList(list);
  assert.deepEqual(list, { cpu: "1m", memory: "1Gi", bad: "x" });
});
