import assert from "node:assert/strict";
import { parseCommandArgs } from "./args.ts";
import { apiserverCommand, tolerationSeconds } from "./apiserver.ts";
import { upCommand } from "./up.ts";

Deno.test("up and apiserver take kube-apiserver's --default-*-toleration-seconds flags (300 by default)", () => {
  for (const command of [upCommand, apiserverCommand]) {
    const defaults = parseCommandArgs(command, []);
    assert.equal(defaults.kind, "run");
    if (defaults.kind !== "run") return;
    assert.deepEqual(tolerationSeconds(defaults.flags), { notReady: 300, unreachable: 300 });
    const set = parseCommandArgs(command, [
      "--default-not-ready-toleration-seconds",
      "20",
      "--default-unreachable-toleration-seconds=0",
    ]);
    assert.equal(set.kind, "run");
    if (set.kind !== "run") return;
    assert.deepEqual(tolerationSeconds(set.flags), { notReady: 20, unreachable: 0 });
    assert.notEqual(
      parseCommandArgs(command, ["--default-unreachable-toleration-seconds", "-1"]).kind,
      "run",
    );
  }
});
