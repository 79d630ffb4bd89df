import assert from "node:assert/strict";
import type { ResourceDef } from "../../api/resource.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { AdmissionAttributes } from "../context.ts";
import { ADMIN } from "../context.ts";
import type { ObjectReader } from "./lookup.ts";
import { storageAdmission } from "./storage.ts";

const classes = (...objs: KubeObject[]): ObjectReader => ({
  list: () => Promise.resolve(objs),
  get: (_ns, name) => Promise.resolve(objs.find((o) => o.metadata.name === name) ?? null),
});
const sc = (name: string, extra: Record<string, unknown> = {}, dflt = false): KubeObject => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: {
    name,
    creationTimestamp: "2026-01-01T00:00:00Z",
    annotations: dflt ? { "storageclass.kubernetes.io/is-default-class": "true" } : {},
  },
  provisioner: "local-path.skiff.dev",
  ...extra,
});
const def = (plural: string) => ({ group: "", plural } as ResourceDef);
const attrs = (
  plural: string,
  op: "CREATE" | "UPDATE",
  object: KubeObject,
  oldObject: KubeObject | null = null,
): AdmissionAttributes => ({
  operation: op,
  def: def(plural),
  object,
  oldObject,
  namespace: "default",
  name: object.metadata.name!,
  subresource: "",
  user: ADMIN,
  dryRun: false,
});
const pvc = (spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: "c", namespace: "default" },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
});

async function admitAll(reader: ObjectReader, a: AdmissionAttributes): Promise<void> {
  for (const p of storageAdmission(reader)) {
    await p.admit?.(a);
    await p.validate?.(a);
  }
}

Deno.test("DefaultStorageClass fills an unset class only; protection finalizers are added", async () => {
  const reader = classes(sc("slow"), sc("local-path", {}, true));
  const unset = pvc();
  await admitAll(reader, attrs("persistentvolumeclaims", "CREATE", unset));
  assert.equal(unset.spec.storageClassName, "local-path");
  assert.deepEqual(unset.metadata.finalizers, ["kubernetes.io/pvc-protection"]);
  const empty = pvc({ storageClassName: "" });
  await admitAll(reader, attrs("persistentvolumeclaims", "CREATE", empty));
  assert.equal(empty.spec.storageClassName, "", "an explicit empty class means none");
  const pv: KubeObject = { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "v" }, spec: {} };
  await admitAll(reader, attrs("persistentvolumes", "CREATE", pv));
  assert.deepEqual(pv.metadata.finalizers, ["kubernetes.io/pv-protection"]);
  const noDefault = pvc();
  await admitAll(classes(sc("slow")), attrs("persistentvolumeclaims", "CREATE", noDefault));
  assert.equal(noDefault.spec.storageClassName, undefined);
});

Deno.test("PersistentVolumeClaimResize lets a claim grow only with allowVolumeExpansion", async () => {
  const old = pvc({ storageClassName: "fixed" });
  const bigger = pvc({ storageClassName: "fixed", resources: { requests: { storage: "2Gi" } } });
  await assert.rejects(
    admitAll(classes(sc("fixed")), attrs("persistentvolumeclaims", "UPDATE", bigger, old)),
    (e) => isApiError(e, 403) && /must support resize/.test(e.message),
  );
  await admitAll(
    classes(sc("fixed", { allowVolumeExpansion: true })),
    attrs("persistentvolumeclaims", "UPDATE", bigger, old),
  );
});
