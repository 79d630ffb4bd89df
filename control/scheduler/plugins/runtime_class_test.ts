import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { cacheWith, nodeInfo, nv, pv, viewContext } from "../testing.ts";
import { runtimeClassInfo } from "../views.ts";
import { errReasonHandler, runtimeClass } from "./runtime_class.ts";

const st = new CycleState();
const wasm = runtimeClassInfo({ metadata: { name: "wasm" }, handler: "wasmtime" });
const ctx = viewContext([], [wasm]);

Deno.test("RuntimeClass skips pods without a runtimeClassName", () => {
  assert.deepEqual(runtimeClass.preFilter(st, pv("p"), cacheWith([])), { code: "Skip", reasons: [] });
});

Deno.test("RuntimeClass admits only nodes that advertise the class's handler", () => {
  const p = pv("p", { runtimeClassName: "wasm" }, ctx);
  assert.equal(runtimeClass.preFilter(st, p, cacheWith([])), null);
  assert.equal(runtimeClass.filter(st, p, nodeInfo(nv("a", { handlers: ["runc", "wasmtime"] }))), null);
  assert.deepEqual(runtimeClass.filter(st, p, nodeInfo(nv("b", { handlers: ["runc"] }))), {
    code: "UnschedulableAndUnresolvable",
    reasons: [errReasonHandler("wasmtime")],
  });
  assert.ok(runtimeClass.filter(st, p, nodeInfo(nv("c"))), "a node reporting no handlers supports none");
});

Deno.test("RuntimeClass fails PreFilter when the class does not exist", () => {
  assert.deepEqual(runtimeClass.preFilter(st, pv("p", { runtimeClassName: "gvisor" }, ctx), cacheWith([])), {
    code: "UnschedulableAndUnresolvable",
    reasons: [`RuntimeClass "gvisor" not found`],
  });
});
