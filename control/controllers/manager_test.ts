import assert from "node:assert/strict";
import { CONTROLLERS, enabledControllers, unknownControllers } from "./manager.ts";

const ALL = ["garbage-collector-controller", "namespace-controller", "replicaset-controller"];

Deno.test("enabledControllers() follows --controllers: * for all, -name to drop, name to add", () => {
  assert.deepEqual(enabledControllers(ALL), ALL);
  assert.deepEqual(enabledControllers(ALL, ["*", "-namespace-controller"]), [
    "garbage-collector-controller",
    "replicaset-controller",
  ]);
  assert.deepEqual(enabledControllers(ALL, ["namespace-controller"]), ["namespace-controller"]);
  assert.deepEqual(enabledControllers(ALL, []), []);
});

Deno.test("unknownControllers() finds the names of a --controllers selection that match no controller", () => {
  assert.deepEqual(unknownControllers(ALL, ["*", "-namespace-controller", "replicaset-controller"]), []);
  assert.deepEqual(unknownControllers(ALL, ["*", "-namespace", "deployment-controller"]), [
    "namespace",
    "deployment-controller",
  ]);
});

Deno.test("the controller table names every controller once, with upstream's names", () => {
  const names = CONTROLLERS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  for (
    const n of [
      "garbage-collector-controller",
      "namespace-controller",
      "serviceaccount-controller",
      "node-lifecycle-controller",
      "taint-eviction-controller",
      "pod-garbage-collector-controller",
      "endpoints-controller",
      "endpointslice-controller",
      "replicaset-controller",
      "deployment-controller",
    ]
  ) assert.ok(names.includes(n), n);
});

Deno.test("every built-in controller of the table loads a factory", async () => {
  for (const entry of CONTROLLERS.slice(0, 8)) {
    assert.equal(typeof await entry.load(), "function", entry.name);
  }
});
