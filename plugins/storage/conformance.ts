/**
 * The storage (CSI-style) conformance suite, over the WIT verbs of `skiff:storage@0.1.0` (jco's
 * camelCase; answers as plugins/storage/binding.ts shapes them). The node verbs are exercised
 * for real: the implementation under test runs with a real `host-mount` capability bounded to a
 * scratch root (`PluginImpl.volumeRoot`), and the cases check what reached the filesystem: the
 * data written through one published target is read through another, a read-only publish
 * refuses writes, unpublish leaves no mount point, and a target outside the root is refused.
 *
 * The implementation's factory passes the node facts every storage plugin gets in its settings
 * (`nodeId`, `root`: where new volumes go, under `volumeRoot`). Run as root (mounts).
 * @module
 */
import assert from "node:assert/strict";
import type { Case, PluginImpl } from "../host/conformance.ts";
import { StorageError, unwrapStorage } from "./binding.ts";

const MOUNT = { accessType: "mount", fsType: "", mountFlags: [], accessMode: "single-node-writer" };

type Volume = { volumeId: string; volumeContext: [string, string][] };

async function call<T>(p: PluginImpl, op: string, ...args: unknown[]): Promise<T> {
  return unwrapStorage<T>(await p.call(op, ...args));
}

/** The CSI error a call answers (fails when it succeeds). */
async function csiError(p: PluginImpl, op: string, ...args: unknown[]): Promise<StorageError> {
  try {
    await call(p, op, ...args);
  } catch (e) {
    if (e instanceof StorageError) return e;
    throw e;
  }
  throw new assert.AssertionError({ message: `${op} succeeded; a CSI error was expected` });
}

function rootOf(p: PluginImpl): string {
  if (!p.volumeRoot) {
    throw new Error(
      "the storage suite needs an implementation with a host-mount root (PluginImpl.volumeRoot)",
    );
  }
  return p.volumeRoot;
}

function mountPoints(): Set<string> {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return new Set(
    Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter(Boolean).map((l) =>
      unescape(l.split(" ")[4])
    ),
  );
}

export const storageCases: Case[] = [
  {
    name: "identity: plugin info has a name, capabilities are flags, probe answers",
    async fn(newImpl) {
      await using p = await newImpl();
      const info = await call<{ name: string }>(p, "getPluginInfo");
      assert.ok(info.name.length > 0);
      const caps = await call<Record<string, boolean>>(p, "getPluginCapabilities");
      for (const v of Object.values(caps)) assert.equal(typeof v, "boolean");
      assert.equal(typeof (await call(p, "probe")), "boolean");
      const node = await call<{ nodeId: string }>(p, "nodeGetInfo");
      assert.equal(typeof node.nodeId, "string");
    },
  },
  {
    name: "create-volume is idempotent by name; delete-volume succeeds twice and for unknown ids",
    async fn(newImpl) {
      await using p = await newImpl();
      const caps = await call<{ createDeleteVolume: boolean }>(p, "getPluginCapabilities");
      if (!caps.createDeleteVolume) return;
      const a = await call<Volume>(p, "createVolume", "pvc-1", 1 << 20, [MOUNT], []);
      const b = await call<Volume>(p, "createVolume", "pvc-1", 1 << 20, [MOUNT], []);
      assert.equal(a.volumeId, b.volumeId);
      const c = await call<Volume>(p, "createVolume", "pvc-2", 1 << 20, [MOUNT], []);
      assert.notEqual(a.volumeId, c.volumeId);
      for (const id of [a.volumeId, a.volumeId, c.volumeId, "no-such-volume"]) {
        await call(p, "deleteVolume", id);
      }
    },
  },
  {
    name:
      "stage, publish twice (one read-only), data flows through the mounts; unpublish and unstage are idempotent",
    async fn(newImpl) {
      await using p = await newImpl();
      const root = rootOf(p);
      const caps = await call<{ stageUnstageVolume: boolean }>(p, "getPluginCapabilities");
      const v = await call<Volume>(p, "createVolume", "pvc-3", 1 << 20, [MOUNT], []);
      const staging = caps.stageUnstageVolume ? `${root}/plugins/conformance/globalmount` : undefined;
      if (staging) {
        await call(p, "nodeStageVolume", v.volumeId, staging, MOUNT, [], v.volumeContext);
        await call(p, "nodeStageVolume", v.volumeId, staging, MOUNT, [], v.volumeContext);
      }
      const rw = `${root}/pods/a/volumes/pvc-3/mount`;
      const ro = `${root}/pods/b/volumes/pvc-3/mount`;
      await call(p, "nodePublishVolume", v.volumeId, staging, rw, MOUNT, false, v.volumeContext);
      await call(p, "nodePublishVolume", v.volumeId, staging, rw, MOUNT, false, v.volumeContext);
      await call(p, "nodePublishVolume", v.volumeId, staging, ro, MOUNT, true, v.volumeContext);
      assert.ok(mountPoints().has(rw) && mountPoints().has(ro), "publish makes real mounts");
      await Deno.writeTextFile(`${rw}/hello`, "through the mount\n");
      assert.equal(await Deno.readTextFile(`${ro}/hello`), "through the mount\n");
      await assert.rejects(() => Deno.writeTextFile(`${ro}/nope`, "x"), /Read-only file system/);
      for (const t of [rw, rw, ro]) await call(p, "nodeUnpublishVolume", v.volumeId, t);
      assert.ok(!mountPoints().has(rw) && !mountPoints().has(ro), "unpublish unmounts");
      if (staging) {
        await call(p, "nodeUnstageVolume", v.volumeId, staging);
        await call(p, "nodeUnstageVolume", v.volumeId, staging);
        assert.ok(!mountPoints().has(staging));
      }
      // The data outlives the mounts.
      const again = `${root}/pods/c/volumes/pvc-3/mount`;
      if (staging) await call(p, "nodeStageVolume", v.volumeId, staging, MOUNT, [], v.volumeContext);
      await call(p, "nodePublishVolume", v.volumeId, staging, again, MOUNT, true, v.volumeContext);
      assert.equal(await Deno.readTextFile(`${again}/hello`), "through the mount\n");
      await call(p, "nodeUnpublishVolume", v.volumeId, again);
      if (staging) await call(p, "nodeUnstageVolume", v.volumeId, staging);
      await call(p, "deleteVolume", v.volumeId);
    },
  },
  {
    name: "a target outside the granted root is refused, with a CSI error (not a crash)",
    async fn(newImpl) {
      await using p = await newImpl();
      const v = await call<Volume>(p, "createVolume", "pvc-4", 1 << 20, [MOUNT], []);
      const outside = await Deno.makeTempDir({ prefix: "skiff-storage-outside-" });
      try {
        const e = await csiError(
          p,
          "nodePublishVolume",
          v.volumeId,
          undefined,
          `${outside}/t`,
          MOUNT,
          false,
          v.volumeContext,
        );
        assert.ok(e.message.length > 0);
        assert.ok(!mountPoints().has(`${outside}/t`), "nothing was mounted outside the root");
        await csiError(
          p,
          "nodePublishVolume",
          v.volumeId,
          undefined,
          "relative/target",
          MOUNT,
          false,
          v.volumeContext,
        );
      } finally {
        await Deno.remove(outside, { recursive: true });
        await call(p, "deleteVolume", v.volumeId);
      }
    },
  },
];
