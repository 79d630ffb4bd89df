import assert from "node:assert/strict";
import type { NewImpl } from "../../plugins/host/conformance.ts";
import { storageCases } from "../../plugins/storage/conformance.ts";
import { LocalPathDriver, StorageError } from "./local_path.ts";

/** The storage conformance suite over the TypeScript driver (its verbs are the WIT's). */
function driverImpl(root: string): NewImpl {
  return () => {
    const d = new LocalPathDriver(root, "node-1") as unknown as Record<
      string,
      (...a: unknown[]) => Promise<unknown>
    >;
    return Promise.resolve({
      call: (op: string, ...args: unknown[]) => d[op](...args),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
  };
}

Deno.test("storage conformance: local-path (TypeScript driver)", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "skiff-local-path-" });
  // The suite publishes under /var/lib/skiff/pods/conformance: remove what it leaves there.
  const hadVarLib = await Deno.stat("/var/lib/skiff").then(() => true, () => false);
  try {
    for (const c of storageCases) await t.step(c.name, () => c.fn(driverImpl(root)));
  } finally {
    await Deno.remove(hadVarLib ? "/var/lib/skiff/pods/conformance" : "/var/lib/skiff", { recursive: true })
      .catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalPathDriver publishes a link to the volume, and deletes only volumes it created", async () => {
  const root = await Deno.makeTempDir({ prefix: "skiff-local-path-" });
  try {
    const d = new LocalPathDriver(`${root}/driver`, "node-1");
    const v = await d.createVolume("pvc-a", 1n << 20n, [], []);
    assert.equal(v.volumeId, `${root}/driver/volumes/pvc-a`);
    assert.deepEqual(v.accessibleTopology, [[["kubernetes.io/hostname", "node-1"]]]);
    const target = `${root}/pod/volumes/kubernetes.io~csi/data/mount`;
    const cap = { accessType: "mount", fsType: "", mountFlags: [], accessMode: "single-node-writer" };
    await d.nodePublishVolume(v.volumeId, undefined, target, cap, false, []);
    await d.nodePublishVolume(v.volumeId, undefined, target, cap, false, []);
    assert.equal(await Deno.realPath(target), v.volumeId);
    await Deno.writeTextFile(`${target}/f`, "x");
    await d.nodeUnpublishVolume(v.volumeId, target);
    assert.equal(await Deno.readTextFile(`${v.volumeId}/f`), "x", "unpublish keeps the data");
    // A fresh driver (an agent restart) still knows the volume.
    const again = new LocalPathDriver(`${root}/driver`, "node-1");
    await again.deleteVolume(`${root}/elsewhere`);
    await Deno.mkdir(`${root}/elsewhere`);
    await again.deleteVolume(`${root}/elsewhere`);
    assert.ok(await Deno.stat(`${root}/elsewhere`), "a directory it did not create is left alone");
    await again.deleteVolume(v.volumeId);
    await assert.rejects(Deno.stat(v.volumeId));
    await assert.rejects(d.createVolume("Bad/Name", 1n, [], []), StorageError);
    await assert.rejects(
      d.createVolume("pvc-b", 1n, [], [["nodePath", "relative"]]),
      /must be an absolute path/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
