import assert from "node:assert/strict";
import { MountNamespace } from "../mountns/mount_ns.ts";
import {
  ensureSharedRoot,
  HostMount,
  HostMountError,
  releaseSharedRoot,
  resolveBounds,
} from "./host_mount.ts";

const root = Deno.uid() === 0;

Deno.test("resolveBounds() narrows the grant's root to the node's volume roots", () => {
  assert.deepEqual(resolveBounds(undefined, ["/d/kubelet", "/d/storage"]).roots, [
    "/d/kubelet",
    "/d/storage",
  ]);
  assert.deepEqual(resolveBounds({ root: "/d/storage/x/" }, ["/d/kubelet", "/d/storage"]).roots, [
    "/d/storage/x",
  ]);
  assert.throws(() => resolveBounds({ root: "/etc" }, ["/d/kubelet"]), /outside this node's volume roots/);
  assert.throws(() => resolveBounds({ root: ["/d/kubelet", "x"] }, ["/d/kubelet"]), /not an absolute path/);
  assert.equal(resolveBounds({ hostPaths: true }, ["/d"]).hostPaths, true);
});

Deno.test({
  name: "HostMount bind-mounts under its root only, read-only when asked, visible in a slave mount namespace",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-host-mount-" });
    const vroot = `${dir}/root`;
    ensureSharedRoot(vroot);
    const ns = await MountNamespace.open(`${dir}/ns`);
    try {
      const m = new HostMount(resolveBounds(undefined, [vroot]));
      m.makeDir(`${vroot}/vol`);
      await Deno.writeTextFile(`${vroot}/vol/f`, "data\n");
      // Outside the root, through "..", or through a symlink that leaves it: denied.
      await Deno.mkdir(`${dir}/outside`);
      await Deno.symlink(`${dir}/outside`, `${vroot}/escape`);
      for (const bad of [`${dir}/outside/t`, `${vroot}/escape/t`, vroot]) {
        assert.throws(() => m.makeDir(bad), (e) => e instanceof HostMountError && e.tag === "denied", bad);
      }
      assert.throws(() => m.bindMount(`${dir}/outside`, `${vroot}/t`, false), /outside the granted root/);
      assert.throws(
        () => m.makeDir(`${vroot}/../x`),
        (e) => e instanceof HostMountError && e.tag === "invalid",
      );

      const rw = `${vroot}/pods/a/rw`;
      const ro = `${vroot}/pods/a/ro`;
      m.bindMount(`${vroot}/vol`, rw, false);
      m.bindMount(`${vroot}/vol`, rw, false); // idempotent
      m.bindMount(`${vroot}/vol`, ro, true);
      assert.equal(await Deno.readTextFile(`${ro}/f`), "data\n");
      await Deno.writeTextFile(`${rw}/g`, "via rw\n");
      assert.equal(await Deno.readTextFile(`${vroot}/vol/g`), "via rw\n");
      await assert.rejects(() => Deno.writeTextFile(`${ro}/h`, "x"), /Read-only file system/);
      // Propagated into crun's kind of namespace, read-only included.
      assert.equal(await ns.run(["cat", `${rw}/g`]), "via rw\n");
      await assert.rejects(() => ns.run(["touch", `${ro}/h`]), /Read-only file system/);
      assert.throws(() => m.removeDir(rw), /mount point/);
      assert.throws(() => m.removeDir(`${vroot}/pods`), /mount point/, "never removes through a mount below");

      m.unmount(rw);
      m.unmount(rw); // idempotent
      m.unmount(ro);
      await assert.rejects(() => ns.run(["cat", `${rw}/g`]));
      assert.equal(await Deno.readTextFile(`${vroot}/vol/g`), "via rw\n", "unmounting keeps the data");
      m.removeDir(`${vroot}/pods`);
      m.removeDir(`${vroot}/pods`);

      const hp = new HostMount(resolveBounds({ hostPaths: true }, [vroot]));
      await Deno.writeTextFile(`${dir}/outside/file`, "host\n");
      hp.bindMount(`${dir}/outside/file`, `${vroot}/hp/file`, true);
      assert.equal(await Deno.readTextFile(`${vroot}/hp/file`), "host\n");
      hp.unmount(`${vroot}/hp/file`);
    } finally {
      await ns.close();
      releaseSharedRoot(vroot);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
