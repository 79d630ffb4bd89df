import assert from "node:assert/strict";
import { createsContainer, ownCgroupProcs } from "./cgroup_warm.ts";
import { Spawner } from "./spawner.ts";

Deno.test("createsContainer() is true for what creates a container: conmon, crun create, crun run", () => {
  assert.equal(createsContainer(["/usr/bin/conmon", "--api-version", "1"]), true);
  assert.equal(createsContainer(["/usr/bin/crun", "--root=/r", "create", "--bundle", "/b", "c1"]), true);
  assert.equal(createsContainer(["crun", "run", "c1"]), true);
  assert.equal(createsContainer(["/usr/bin/crun", "--root=/r", "start", "c1"]), false);
  assert.equal(createsContainer(["/usr/bin/crun", "--root=/r", "state", "c1"]), false);
  assert.equal(createsContainer(["/usr/bin/unshare", "--ipc=/x", "true"]), false);
  assert.equal(createsContainer([]), false);
});

Deno.test("ownCgroupProcs() picks the v1 pids hierarchy's cgroup.procs, else the unified one's", () => {
  const hybrid = "9:name=systemd:/\n8:pids:/skiff/a\n4:memory:/m\n0::/\n";
  assert.equal(ownCgroupProcs(hybrid), "/sys/fs/cgroup/pids/skiff/a/cgroup.procs");
  assert.equal(ownCgroupProcs("8:pids:/\n0::/x\n"), "/sys/fs/cgroup/pids/cgroup.procs");
  assert.equal(ownCgroupProcs("0::/user.slice/s\n"), "/sys/fs/cgroup/user.slice/s/cgroup.procs");
  assert.equal(ownCgroupProcs("0::/\n", "/cg"), "/cg/cgroup.procs");
  assert.equal(ownCgroupProcs("garbage\n"), undefined);
});

Deno.test({
  name:
    "the spawner writes its own pid to the given cgroup.procs when it starts conmon, not for other commands",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-cgwarm-" });
    try {
      const procs = `${dir}/cgroup.procs`; // a plain file stands in for the cgroup's
      await Deno.writeTextFile(procs, "");
      await Deno.symlink("/bin/true", `${dir}/conmon`);
      const main = new URL("./spawner_main.ts", import.meta.url).pathname;
      await using sp = new Spawner(`/proc/${Deno.pid}/ns/mnt`, {
        command: [
          Deno.execPath(),
          "run",
          "--quiet",
          "--no-config",
          "-A",
          main,
          `--warm-cgroup-procs=${procs}`,
        ],
      });
      sp.warm();
      const end = Date.now() + 10_000;
      while (!sp.pid && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.ok(sp.pid, "the spawner started");
      assert.equal((await sp.run({ argv: ["/bin/true"] }))?.code, 0);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await Deno.readTextFile(procs), "", "no warming for a command that creates no container");
      assert.equal((await sp.run({ argv: [`${dir}/conmon`] }))?.code, 0);
      let written = "";
      while (!written && Date.now() < end) {
        written = await Deno.readTextFile(procs);
        if (!written) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(written, `${sp.pid}\n`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
