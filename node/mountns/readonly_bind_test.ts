import assert from "node:assert/strict";
import { isMountPoint, MountNamespace, readOnlyBindScript } from "./mount_ns.ts";

const root = Deno.uid() === 0;
const CRUN = "/usr/bin/crun";
const haveCrun = (() => {
  try {
    return Deno.statSync(CRUN).isFile;
  } catch {
    return false;
  }
})();
const haveStrace = (() => {
  try {
    return Deno.statSync("/usr/bin/strace").isFile;
  } catch {
    return false;
  }
})();

Deno.test("readOnlyBindScript() binds each binary read-only unless it already is a read-only mount", () => {
  const s = readOnlyBindScript(["/usr/bin/crun", "/opt/my bin/x"]);
  const lines = s.split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /awk -v p=\/usr\/bin\/crun '\$5 == p && \$6 ~ \/\^ro\(,\|\$\)\/ /);
  assert.match(
    lines[0],
    /mount --bind \/usr\/bin\/crun \/usr\/bin\/crun && mount -o remount,bind,ro \/usr\/bin\/crun; fi$/,
  );
  assert.match(
    lines[1],
    /mount --bind '\/opt\/my bin\/x' '\/opt\/my bin\/x'/,
    "paths are quoted for the shell",
  );
});

/** Mount points of `path` inside the namespace, with their options. */
async function mountsAt(ns: MountNamespace, path: string): Promise<string[]> {
  const info = await ns.run(["cat", "/proc/self/mountinfo"]);
  return info.split("\n").map((l) => l.split(" ")).filter((f) => f[4] === path).map((f) => f[5]);
}

Deno.test({
  name: "MountNamespace binds crun read-only inside only, once, and crun then does not copy itself",
  ignore: !root || !haveCrun,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-robind-" });
    let ns = await MountNamespace.open(`${dir}/ns`, { spawner: false, readOnlyBinaries: [CRUN] });
    try {
      const opts = await mountsAt(ns, CRUN);
      assert.equal(opts.length, 1, "one bind mount of crun in the namespace");
      assert.match(opts[0], /^ro(,|$)/, "read-only");
      assert.equal(isMountPoint(CRUN), false, "the host's mount table is not changed");
      // Setting its times to their own values needs a writable mount and, unlike an open for
      // writing (ETXTBSY first while any created container's init still runs crun), nothing else.
      await assert.rejects(
        () => ns.run(["touch", "-c", "-r", CRUN, CRUN]),
        /Read-only file system/,
        "nothing inside may change it",
      );
      // A restarted agent opens the same namespace: nothing is stacked.
      ns = await MountNamespace.open(`${dir}/ns`, { spawner: false, readOnlyBinaries: [CRUN] });
      assert.equal((await mountsAt(ns, CRUN)).length, 1, "idempotent");
      if (haveStrace) {
        // crun's CVE-2019-5736 protection: without a read-only /proc/self/exe it bind-mounts
        // itself and re-executes (execveat); on the read-only bind it runs as it is.
        const traced = await ns.run([
          "/bin/sh",
          "-c",
          `strace -f -e trace=execve,execveat,mount -o /dev/stdout ${CRUN} --version >/dev/null`,
        ]);
        assert.doesNotMatch(traced, /execveat|\/proc\/self\/exe/, traced);
        const host = new Deno.Command("strace", {
          args: ["-f", "-e", "trace=execve,execveat,mount", "-o", "/dev/stderr", CRUN, "--version"],
          stdout: "null",
          stderr: "piped",
        }).outputSync();
        assert.match(
          new TextDecoder().decode(host.stderr),
          /execveat/,
          "outside, crun does copy itself (the test can fail)",
        );
      }
    } finally {
      await ns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
