import assert from "node:assert/strict";
import { cfsQuota, parseProcCgroup } from "./cgroup.ts";

Deno.test("parseProcCgroup() maps every v1 controller to this process's group", () => {
  const text = "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n";
  assert.deepEqual(parseProcCgroup(text), {
    "name=systemd": "/",
    memory: "/process_api/abc",
    cpu: "/",
    cpuacct: "/",
  });
});

Deno.test("cfsQuota() turns millicores into a CFS quota over 100 ms", () => {
  assert.deepEqual(cfsQuota(500), { periodUs: 100_000, quotaUs: 50_000 });
  assert.deepEqual(cfsQuota(2000), { periodUs: 100_000, quotaUs: 200_000 });
  assert.equal(cfsQuota(1).quotaUs, 1000, "the kernel's minimum quota");
});
