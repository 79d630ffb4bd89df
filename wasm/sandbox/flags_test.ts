import assert from "node:assert/strict";
import { sandboxArgs } from "./flags.ts";

Deno.test("sandboxArgs() grants only the given paths and addresses, and no env, run, ffi or sys", () => {
  const args = sandboxArgs({
    entry: "/repo/wasm/sandbox/main.ts",
    permissions: { read: ["/cache", "/vol/ro"], write: ["/vol/rw"], net: ["198.18.0.7", "198.19.0.10:80"] },
    heapLimitMiB: 256,
    deadlineMs: 5000,
  });
  assert.deepEqual(args, [
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--no-remote",
    "--allow-read=/cache,/vol/ro,/vol/rw",
    "--allow-write=/vol/rw",
    "--allow-net=198.18.0.7,198.19.0.10:80",
    "--v8-flags=--expose-gc,--max-old-space-size=256",
    "/repo/wasm/sandbox/main.ts",
    '{"deadlineMs":5000}',
  ]);
  assert.ok(!args.some((a) => /allow-(env|run|ffi|sys|all)|^-A$/.test(a)));
  assert.ok(
    sandboxArgs({ entry: "m", permissions: { read: [], net: "all" }, deadlineMs: 0 }).includes("--allow-net"),
  );
  assert.ok(
    !sandboxArgs({ entry: "m", permissions: { read: [], net: "none" }, deadlineMs: 0 }).some((a) =>
      a.startsWith("--allow-net")
    ),
  );
  assert.throws(
    () => sandboxArgs({ entry: "m", permissions: { read: ["/a,b"], net: "none" }, deadlineMs: 0 }),
    /comma/,
  );
});
