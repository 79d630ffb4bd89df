import assert from "node:assert/strict";
import { TEST_DIRS, testInvocation } from "./test.ts";

const root = "/repo";
const present = new Set([
  "/repo/tests",
  "/repo/control",
  "/repo/cli",
  "/repo/control/store",
  "/here/mine_test.ts",
]);
const exists = (p: string) => present.has(p);
const head = ["test", "-A", "--config", "/repo/deno.json"];

Deno.test("testInvocation() tests every existing top-level folder from the repository root", () => {
  assert.deepEqual(testInvocation({ root, cwd: "/elsewhere", args: [], exists }), {
    cwd: "/repo",
    args: [...head, "tests", "control", "cli"],
  });
  assert.deepEqual(TEST_DIRS, ["tests", "control", "node", "wasm", "plugins", "cli"]);
});

Deno.test("testInvocation() narrows the run to paths given, resolved against the cwd then the root", () => {
  assert.deepEqual(testInvocation({ root, cwd: "/elsewhere", args: ["control/store"], exists }).args, [
    ...head,
    "control/store",
  ]);
  assert.deepEqual(testInvocation({ root, cwd: "/repo/control", args: ["store"], exists }).args, [
    ...head,
    "control/store",
  ]);
  assert.deepEqual(testInvocation({ root, cwd: "/here", args: ["mine_test.ts"], exists }).args, [
    ...head,
    "/here/mine_test.ts",
  ]);
  assert.deepEqual(testInvocation({ root, cwd: "/repo", args: ["."], exists }).args, [...head, "."]);
});

Deno.test("testInvocation() passes deno test flags through and does not mistake a flag value for a path", () => {
  assert.deepEqual(
    testInvocation({ root, cwd: "/repo", args: ["--filter", "cli", "--fail-fast"], exists }).args,
    [
      ...head,
      "--filter",
      "cli",
      "--fail-fast",
      "tests",
      "control",
      "cli",
    ],
  );
});

Deno.test("testInvocation() keeps arguments after -- for the tests themselves, last", () => {
  assert.deepEqual(testInvocation({ root, cwd: "/repo", args: ["cli", "--", "x"], exists }).args, [
    ...head,
    "cli",
    "--",
    "x",
  ]);
});
