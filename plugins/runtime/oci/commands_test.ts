import assert from "node:assert/strict";
import { bundlePaths, conmonArgs, crunArgs, isGone, layout } from "./commands.ts";

const l = layout("/data/oci/");

Deno.test("layout() puts crun's state, conmon's exits and the bundles under the root", () => {
  assert.deepEqual(l, {
    crun: "/usr/bin/crun",
    conmon: "/usr/bin/conmon",
    crunRoot: "/data/oci/crun",
    exits: "/data/oci/exits",
    containers: "/data/oci/containers",
  });
  assert.equal(bundlePaths(l, "c1").rootfs, "/data/oci/containers/c1/rootfs");
  assert.deepEqual(crunArgs(l, "kill", "c1", "SIGTERM"), ["--root=/data/oci/crun", "kill", "c1", "SIGTERM"]);
});

Deno.test("conmonArgs() runs crun create under conmon with the CRI log, the exit dir and the attach socket", () => {
  const argv = conmonArgs(l, {
    id: "c1",
    logPath: "/logs/c/0.log",
    stdin: false,
    stdinOnce: false,
    tty: false,
  });
  const after = (flag: string) => argv[argv.indexOf(flag) + 1];
  assert.equal(after("-r"), "/usr/bin/crun");
  assert.equal(after("-b"), "/data/oci/containers/c1");
  assert.equal(after("-l"), "k8s-file:/logs/c/0.log");
  assert.equal(after("--exit-dir"), "/data/oci/exits");
  assert.ok(argv.includes("--full-attach"));
  assert.ok(!argv.includes("-i") && !argv.includes("-t"));
  const interactive = conmonArgs(l, { id: "c1", logPath: "/l", stdin: true, stdinOnce: false, tty: true });
  assert.ok(
    interactive.includes("-i") && interactive.includes("--leave-stdin-open") && interactive.includes("-t"),
  );
  const once = conmonArgs(l, { id: "c1", logPath: "/l", stdin: true, stdinOnce: true, tty: false });
  assert.ok(once.includes("-i") && !once.includes("--leave-stdin-open"));
});

Deno.test("isGone() tells crun's 'no such container' from other failures", () => {
  assert.ok(isGone("error: container `c1` does not exist"));
  assert.ok(!isGone("error: permission denied"));
});
