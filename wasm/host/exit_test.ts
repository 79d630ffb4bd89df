import assert from "node:assert/strict";
import { GuestExit } from "../wasi/cli.ts";
import { classifyEnd, nearMemoryLimit, StopRequested } from "./exit.ts";

Deno.test("classifyEnd() maps a guest's way out to the kubelet's exit codes and reasons", () => {
  assert.deepEqual(classifyEnd(undefined, false), { exitCode: 0, reason: "Completed" });
  assert.deepEqual(classifyEnd(new GuestExit(3), false), { exitCode: 3, reason: "Error" });
  assert.deepEqual(classifyEnd(new GuestExit(0), false), { exitCode: 0, reason: "Completed" });
  assert.equal(classifyEnd(new StopRequested(), false).exitCode, 137);
  const trap = new WebAssembly.RuntimeError("unreachable");
  assert.deepEqual(classifyEnd(trap, false), {
    exitCode: 134,
    reason: "Error",
    message: "The guest trapped: unreachable",
  });
  assert.equal(classifyEnd(trap, true).reason, "OOMKilled");
  const err = Object.assign(new Error("x"), { name: "ComponentError", payload: undefined });
  assert.equal(classifyEnd(err, false).exitCode, 1);
});

Deno.test("nearMemoryLimit() is true only within an eighth of the limit", () => {
  const mem = (bytes: number) => ({ buffer: new ArrayBuffer(bytes) });
  assert.equal(nearMemoryLimit([mem(900)], 1000), true);
  assert.equal(nearMemoryLimit([mem(800)], 1000), false);
  assert.equal(nearMemoryLimit([mem(900)]), false);
});
