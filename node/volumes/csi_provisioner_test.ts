import assert from "node:assert/strict";
import { pinnedTo, provisionedVolume, topologyAffinity } from "./csi_provisioner.ts";

Deno.test("topologyAffinity() turns the volume's accessible topology into PV node affinity, else pins to the node", () => {
  assert.deepEqual(
    topologyAffinity([[["kubernetes.io/hostname", "n2"], ["zone", "a"]]], "n1").required.nodeSelectorTerms,
    [{
      matchExpressions: [
        { key: "kubernetes.io/hostname", operator: "In", values: ["n2"] },
        { key: "zone", operator: "In", values: ["a"] },
      ],
    }],
  );
  assert.deepEqual(topologyAffinity([], "n1").required.nodeSelectorTerms[0].matchExpressions, [
    { key: "kubernetes.io/hostname", operator: "In", values: ["n1"] },
  ]);
});

Deno.test("provisionedVolume() names the driver as provisioner and CSI driver, pre-bound to the claim", () => {
  const claim = {
    metadata: { name: "data", namespace: "default", uid: "u1", resourceVersion: "7" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
  const sc = { metadata: { name: "tank" }, reclaimPolicy: "Retain" };
  const pv = provisionedVolume(claim, sc, "n1", "tank.storage.skiff.dev", {
    volumeId: "/v/pvc-u1",
    volumeContext: [["path", "/v/pvc-u1"]],
    accessibleTopology: [[["kubernetes.io/hostname", "n1"]]],
  });
  assert.equal(pv.metadata.name, "pvc-u1");
  assert.equal(pv.metadata.annotations?.["pv.kubernetes.io/provisioned-by"], "tank.storage.skiff.dev");
  assert.deepEqual(pv.spec.csi, {
    driver: "tank.storage.skiff.dev",
    volumeHandle: "/v/pvc-u1",
    volumeAttributes: { path: "/v/pvc-u1" },
  });
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
  assert.equal(pv.spec.claimRef.uid, "u1");
  assert.ok(pinnedTo(pv, "n1"));
  assert.ok(!pinnedTo(pv, "n2"));
});
