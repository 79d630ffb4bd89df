/**
 * The storage (CSI-style) conformance suite, over the WIT verbs of `skiff:storage@0.1.0`.
 * The implementations (`local-path`, emptyDir and hostPath publishing) come with the node-side
 * half of plugins. Operations are the WIT verbs in jco's camelCase.
 * @module
 */
import assert from "node:assert/strict";
import type { Case } from "../host/conformance.ts";

const MOUNT = { accessType: "mount", fsType: "", mountFlags: [], accessMode: "single-node-writer" };

export const storageCases: Case[] = [
  {
    name: "identity: plugin info has a name, capabilities are flags, probe answers",
    async fn(newImpl) {
      await using p = await newImpl();
      const info = (await p.call("getPluginInfo")) as { name: string };
      assert.ok(info.name.length > 0);
      const caps = (await p.call("getPluginCapabilities")) as Record<string, boolean>;
      for (const v of Object.values(caps)) assert.equal(typeof v, "boolean");
      assert.equal(typeof (await p.call("probe")), "boolean");
    },
  },
  {
    name: "create-volume is idempotent by name; delete-volume succeeds twice",
    async fn(newImpl) {
      await using p = await newImpl();
      const caps = (await p.call("getPluginCapabilities")) as { createDeleteVolume: boolean };
      if (!caps.createDeleteVolume) return;
      const a = (await p.call("createVolume", "pvc-1", 1n << 20n, [MOUNT], [])) as { volumeId: string };
      const b = (await p.call("createVolume", "pvc-1", 1n << 20n, [MOUNT], [])) as { volumeId: string };
      assert.equal(a.volumeId, b.volumeId);
      await p.call("deleteVolume", a.volumeId);
      await p.call("deleteVolume", a.volumeId);
    },
  },
  {
    name: "node publish then unpublish (twice: idempotent)",
    async fn(newImpl) {
      await using p = await newImpl();
      const v = (await p.call("createVolume", "pvc-2", 1n << 20n, [MOUNT], [])) as { volumeId: string; volumeContext: [string, string][] };
      const target = `/var/lib/skiff/pods/conformance/volumes/${v.volumeId}`;
      await p.call("nodePublishVolume", v.volumeId, undefined, target, MOUNT, false, v.volumeContext);
      await p.call("nodeUnpublishVolume", v.volumeId, target);
      await p.call("nodeUnpublishVolume", v.volumeId, target);
      await p.call("deleteVolume", v.volumeId);
    },
  },
];
