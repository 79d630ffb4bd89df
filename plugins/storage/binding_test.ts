import assert from "node:assert/strict";
import { MalformedResult } from "../host/protocol.ts";
import { StorageError, storageOps, unwrapStorage } from "./binding.ts";

const caps = {
  controllerService: true,
  createDeleteVolume: true,
  publishUnpublishVolume: false,
  stageUnstageVolume: true,
  expandVolume: false,
  volumeAccessibilityConstraints: true,
};

Deno.test("storageOps answer values, CSI errors as answers, and let traps through", () => {
  let seen: unknown;
  const guest = {
    createVolume: (_n: string, bytes: bigint) => {
      seen = bytes;
      return { volumeId: "/v/a", capacityBytes: bytes, volumeContext: [], accessibleTopology: [] };
    },
    deleteVolume: () => {
      throw { tag: "internal", val: "disk on fire" };
    },
    nodeUnpublishVolume: () => {
      throw new Error("unreachable executed");
    },
    getPluginCapabilities: () => caps,
  };
  const v = unwrapStorage<{ capacityBytes: number }>(storageOps.createVolume(guest, "a", 1048576, [], []));
  assert.equal(seen, 1048576n, "u64 reaches the guest as BigInt");
  assert.equal(v.capacityBytes, 1048576, "and comes back as a number");
  assert.throws(
    () => unwrapStorage(storageOps.deleteVolume(guest, "/v/a")),
    (e) => e instanceof StorageError && e.tag === "internal" && e.message === "disk on fire",
  );
  assert.throws(() => storageOps.nodeUnpublishVolume(guest, "/v/a", "/t"), /unreachable/);
  assert.equal(unwrapStorage<typeof caps>(storageOps.getPluginCapabilities(guest)).stageUnstageVolume, true);
});

Deno.test("storageOps refuse malformed answers", () => {
  assert.throws(() => storageOps.createVolume({ createVolume: () => ({}) }, "a", 1, [], []), MalformedResult);
  assert.throws(
    () => storageOps.getPluginCapabilities({ getPluginCapabilities: () => ({ controllerService: "yes" }) }),
    MalformedResult,
  );
  assert.throws(() => storageOps.probe({}), MalformedResult);
});
