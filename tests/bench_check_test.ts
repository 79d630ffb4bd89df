/**
 * The benchmarks are no test files, so `deno test` never type-checks them: this test does, so a
 * change that breaks `./skiff bench` fails the suite instead of the next benchmark run.
 */
import assert from "node:assert/strict";
import { ROOT } from "./harness.ts";

Deno.test("every benchmark group type-checks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", `${ROOT}/deno.json`, `${ROOT}/tests/bench/main.ts`, `${ROOT}/control/apiserver/rbac/bench.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});
