import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { findMatchingVolume, reclaimAction, volumeFitsNode, volumePhase } from "./binder.ts";

function pv(name: string, spec: Record<string, unknown> = {}, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, ...(extra.metadata ?? {}) },
    spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/x" }, ...spec },
    status: { phase: "Available", ...(extra.status ?? {}) },
  };
}

function pvc(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "c", namespace: "ns", uid: "u1" },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "500Mi" } },
      storageClassName: "",
      ...spec,
    },
  };
}

Deno.test("findMatchingVolume() picks the smallest volume with enough capacity", () => {
  const vols = [
    pv("big", { capacity: { storage: "10Gi" } }),
    pv("small"),
    pv("tiny", { capacity: { storage: "100Mi" } }),
  ];
  assert.equal(findMatchingVolume(pvc(), vols)?.metadata.name, "small");
});

Deno.test("findMatchingVolume() requires every access mode, the class, the volume mode and the selector", () => {
  assert.equal(findMatchingVolume(pvc({ accessModes: ["ReadWriteMany"] }), [pv("a")]), undefined);
  assert.equal(findMatchingVolume(pvc({ storageClassName: "fast" }), [pv("a")]), undefined);
  assert.equal(
    findMatchingVolume(pvc({ storageClassName: "fast" }), [pv("a", { storageClassName: "fast" })])?.metadata
      .name,
    "a",
  );
  assert.equal(findMatchingVolume(pvc({ volumeMode: "Block" }), [pv("a")]), undefined);
  const labelled = pv("gold", {}, { metadata: { name: "gold", labels: { tier: "gold" } } });
  const sel = pvc({ selector: { matchLabels: { tier: "gold" } } });
  assert.equal(findMatchingVolume(sel, [pv("plain"), labelled])?.metadata.name, "gold");
  assert.equal(findMatchingVolume(sel, [pv("plain")]), undefined);
});

Deno.test("findMatchingVolume() skips claimed, unavailable and deleting volumes, but a pre-bound one wins", () => {
  const claimed = pv("claimed", { claimRef: { namespace: "ns", name: "other", uid: "u2" } });
  const released = pv("released", {}, { status: { phase: "Released" } });
  const deleting = pv("deleting", {}, {
    metadata: { name: "deleting", deletionTimestamp: "2026-01-01T00:00:00Z" },
  });
  assert.equal(findMatchingVolume(pvc(), [claimed, released, deleting]), undefined);
  const prebound = pv("mine", { capacity: { storage: "5Gi" }, claimRef: { namespace: "ns", name: "c" } });
  assert.equal(findMatchingVolume(pvc(), [pv("small"), prebound])?.metadata.name, "mine");
});

Deno.test("findMatchingVolume() with a node keeps volumes whose node affinity admits it", () => {
  const affinity = (node: string) => ({
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [{
          matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }],
        }],
      },
    },
  });
  const vols = [pv("on-a", affinity("a")), pv("on-b", affinity("b"))];
  assert.equal(
    findMatchingVolume(pvc(), vols, { nodeLabels: { "kubernetes.io/hostname": "b" } })?.metadata.name,
    "on-b",
  );
  assert.equal(volumeFitsNode(vols[0], { "kubernetes.io/hostname": "b" }), false);
  assert.equal(volumeFitsNode(pv("anywhere"), {}), true);
});

Deno.test("volumePhase() follows the claim; reclaimAction() follows the policy", () => {
  const claim = { ...pvc(), spec: { ...pvc().spec, volumeName: "v" } };
  const bound = pv("v", { claimRef: { namespace: "ns", name: "c", uid: "u1" } });
  assert.equal(volumePhase(pv("v"), undefined), "Available");
  assert.equal(volumePhase(bound, claim), "Bound");
  assert.equal(volumePhase(bound, undefined), "Released");
  assert.equal(volumePhase(bound, { ...claim, metadata: { ...claim.metadata, uid: "new" } }), "Released");
  assert.equal(reclaimAction(pv("v", { persistentVolumeReclaimPolicy: "Retain" }), undefined), "none");
  assert.equal(
    reclaimAction(pv("v", { persistentVolumeReclaimPolicy: "Delete" }), "local-path.skiff.dev"),
    "delete",
  );
  assert.equal(reclaimAction(pv("v", { persistentVolumeReclaimPolicy: "Delete" }), undefined), "fail");
  assert.equal(reclaimAction(pv("v", { persistentVolumeReclaimPolicy: "Recycle" }), undefined), "fail");
});
