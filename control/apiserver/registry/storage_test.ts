import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { persistentVolumeClaims } from "./core_storage.ts";
import { storageClasses, validateCSIDriver, validateStorageClass } from "./storage.ts";

const sc = (extra: Record<string, unknown> = {}): KubeObject => {
  const o: KubeObject = {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "fast" },
    provisioner: "local-path.skiff.dev",
    ...extra,
  };
  storageClasses.defaults!(o, {} as never);
  return o;
};

Deno.test("StorageClass defaults and validation follow upstream", () => {
  const o = sc();
  assert.equal((o as Record<string, unknown>).reclaimPolicy, "Delete");
  assert.equal((o as Record<string, unknown>).volumeBindingMode, "Immediate");
  assert.deepEqual(validateStorageClass(o), []);
  assert.deepEqual(validateStorageClass(sc({ provisioner: "" })).map((c) => c.field), ["provisioner"]);
  assert.match(
    validateStorageClass(sc({ volumeBindingMode: "Later" }))[0].message!,
    /Unsupported value: "Later"/,
  );
  const changed = validateStorageClass(sc({ provisioner: "other.example.com", parameters: { a: "b" } }), o);
  assert.deepEqual(changed.map((c) => c.message), [
    "Forbidden: updates to parameters are forbidden.",
    "Forbidden: updates to provisioner are forbidden.",
  ]);
  assert.deepEqual(
    storageClasses.table!.cells(
      {
        ...o,
        metadata: { name: "fast", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      },
      Date.now(),
    ).slice(0, 5),
    ["fast (default)", "local-path.skiff.dev", "Delete", "Immediate", "false"],
  );
});

Deno.test("CSIDriver: attachRequired is immutable", () => {
  const d: KubeObject = {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSIDriver",
    metadata: { name: "x.example.com" },
    spec: { attachRequired: true, podInfoOnMount: false },
  };
  const e: KubeObject = { ...d, spec: { attachRequired: false, podInfoOnMount: false } };
  assert.deepEqual(validateCSIDriver(d), []);
  assert.match(validateCSIDriver(e, d)[0].message!, /field is immutable/);
});

Deno.test("PVC validation: RWOP alone, no shrink below capacity, immutable spec while unbound", () => {
  const pvc = (spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "c", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
    status,
  });
  const v = persistentVolumeClaims.validate!;
  assert.match(
    v(pvc({ accessModes: ["ReadWriteOncePod", "ReadOnlyMany"] }))[0].message!,
    /may not use ReadWriteOncePod with other access modes/,
  );
  const bound = pvc({ volumeName: "pv" }, { phase: "Bound", capacity: { storage: "1Gi" } });
  const shrunk = v(pvc({ volumeName: "pv", resources: { requests: { storage: "512Mi" } } }), bound);
  assert.deepEqual(shrunk.map((c) => `${c.field}: ${c.message}`), [
    "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity",
  ]);
  assert.deepEqual(v(pvc({ volumeName: "pv", resources: { requests: { storage: "2Gi" } } }), bound), []);
  const pending = pvc({}, { phase: "Pending" });
  assert.match(
    v(pvc({ resources: { requests: { storage: "2Gi" } } }), pending)[0].message!,
    /spec is immutable after creation/,
  );
});

Deno.test("PV update: the volume source and node affinity are immutable; claimRef and capacity are not", async () => {
  const { persistentVolumes } = await import("./core_storage.ts");
  const pv = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "v" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: "/a" },
      volumeMode: "Filesystem",
      ...spec,
    },
  });
  const v = persistentVolumes.validate!;
  const old = pv({});
  assert.deepEqual(v(pv({ capacity: { storage: "2Gi" }, claimRef: { namespace: "d", name: "c" } }), old), []);
  assert.deepEqual(v(pv({ hostPath: { path: "/b" } }), old).map((c) => c.message), [
    "Forbidden: spec.persistentvolumesource is immutable after creation",
  ]);
  assert.match(
    v(pv({ nodeAffinity: { required: { nodeSelectorTerms: [] } } }), old)[0].message!,
    /field is immutable/,
  );
});
