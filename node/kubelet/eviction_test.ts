import assert from "node:assert/strict";
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { diskUsage, hasStorageLimits, storageEviction } from "./eviction.ts";

const pod = (spec: Pod["spec"]): Pod => ({ metadata: { name: "p", uid: "u" }, spec });
const usage = (emptyDirs: [string, number][], logs: [string, number][] = []) => ({
  emptyDirs: new Map(emptyDirs),
  logs: new Map(logs),
});

Deno.test("storageEviction() names the emptyDir over its sizeLimit, as upstream", () => {
  const p = pod({
    containers: [{ name: "c" }],
    volumes: [{ name: "cache", emptyDir: { sizeLimit: "1Mi" } }, {
      name: "mem",
      emptyDir: { medium: "Memory", sizeLimit: "1Ki" },
    }],
  });
  assert.ok(hasStorageLimits(p));
  assert.equal(storageEviction(p, usage([["cache", 1 << 20]])), null);
  assert.equal(
    storageEviction(p, usage([["cache", (1 << 20) + 1], ["mem", 1 << 30]])),
    'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ',
  );
});

Deno.test("storageEviction() checks containers' ephemeral-storage limits and the pod's total", () => {
  const p = pod({
    containers: [
      { name: "a", resources: { limits: { "ephemeral-storage": "1Mi" } } },
      { name: "b", resources: { limits: { "ephemeral-storage": "1Mi" } } },
    ],
    volumes: [{ name: "scratch", emptyDir: {} }],
  });
  assert.equal(
    storageEviction(p, usage([], [["a", 2 << 20]])),
    'Container a exceeded its local ephemeral storage limit "1Mi". ',
  );
  assert.equal(
    storageEviction(p, usage([["scratch", 3 << 20]], [["a", 1], ["b", 1]])),
    "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. ",
  );
  assert.equal(storageEviction(p, usage([["scratch", 1 << 20]])), null);
  assert.equal(
    hasStorageLimits(pod({ containers: [{ name: "c" }], volumes: [{ name: "x", emptyDir: {} }] })),
    false,
  );
});

Deno.test("diskUsage() sums regular files, recursively", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeFile(`${dir}/a/b/f`, new Uint8Array(1000));
    await Deno.writeFile(`${dir}/g`, new Uint8Array(24));
    await Deno.symlink("/etc", `${dir}/link`);
    assert.equal(await diskUsage(dir), 1024);
    assert.equal(await diskUsage(`${dir}/missing`), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evictedStatus() marks the pod Failed/Evicted with a DisruptionTarget condition", async () => {
  const { evictedStatus } = await import("./eviction.ts");
  const s = evictedStatus(
    { phase: "Running", conditions: [{ type: "Ready", status: "False" }] },
    "m. ",
    Date.UTC(2026, 0, 1),
  );
  assert.equal(s.phase, "Failed");
  assert.equal(s.reason, "Evicted");
  assert.equal(s.message, "m. ");
  assert.deepEqual(s.conditions?.map((c) => [c.type, c.status, c.reason ?? ""]), [
    ["Ready", "False", ""],
    ["DisruptionTarget", "True", "TerminationByKubelet"],
  ]);
  assert.equal(s.conditions?.[1].lastTransitionTime, "2026-01-01T00:00:00Z");
});
