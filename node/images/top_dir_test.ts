import assert from "node:assert/strict";
import { RegistryClient } from "../registry/client.ts";
import { ImageStore } from "./image_store.ts";
import { FS_TOPDIR_FL, inodeFlags, markTopDir } from "./top_dir.ts";

Deno.test("markTopDir() sets FS_TOPDIR_FL where the file system has inode flags, and is a no-op elsewhere", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-topdir-" });
  try {
    const before = inodeFlags(dir);
    if (before === undefined) {
      assert.equal(markTopDir(dir), false, "no inode flags here (not ext4?): nothing to set");
      return;
    }
    assert.equal(before & FS_TOPDIR_FL, 0);
    assert.equal(markTopDir(dir), true);
    assert.equal(inodeFlags(dir)! & FS_TOPDIR_FL, FS_TOPDIR_FL, "lsattr -d shows T");
    assert.equal(inodeFlags(dir)! & ~FS_TOPDIR_FL, before, "the other flags are kept");
    assert.equal(markTopDir(dir), true, "idempotent");
    await Deno.mkdir(`${dir}/layer`);
    assert.equal(inodeFlags(`${dir}/layer`)! & FS_TOPDIR_FL, 0, "the flag is not inherited");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(markTopDir(`${dir}/gone`), false, "a missing directory is refused quietly");
});

Deno.test("ImageStore.open() marks its layers directory FS_TOPDIR_FL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-topdir-" });
  try {
    const store = await ImageStore.open({ dir, registry: new RegistryClient({ blobDir: `${dir}/blobs` }) });
    const flags = inodeFlags(store.layersDir);
    if (flags !== undefined) assert.equal(flags & FS_TOPDIR_FL, FS_TOPDIR_FL);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
