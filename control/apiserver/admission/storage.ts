/**
 * The storage admission steps upstream enables by default, always on here (docs/storage.md):
 *
 * - **DefaultStorageClass**: a new claim that does not set `spec.storageClassName` (unset, not
 *   `""`) gets the default StorageClass's name, when there is one;
 * - **StorageObjectInUseProtection**: new claims get the `kubernetes.io/pvc-protection` finalizer
 *   and new volumes `kubernetes.io/pv-protection`; the protection controllers remove them once
 *   no pod uses the claim / no claim is bound to the volume;
 * - **PersistentVolumeClaimResize**: a claim may grow only when its StorageClass allows volume
 *   expansion (403 Forbidden otherwise, as upstream).
 *
 * StorageClasses are read fresh from the store (a class created just before a claim counts).
 * @module
 */
import { defaultClass, PV_PROTECTION, PVC_PROTECTION, storageClassOf } from "../../api/storage.ts";
import { forbidden } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { compareQuantities, parseQuantity } from "../registry/quantity.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "../context.ts";
import type { ObjectReader } from "./lookup.ts";

const isCore = (a: AdmissionAttributes, plural: string) =>
  a.def.group === "" && a.def.plural === plural && a.subresource === "";

function addFinalizer(obj: KubeObject, f: string): void {
  obj.metadata ??= {};
  const list = obj.metadata.finalizers ?? [];
  if (!list.includes(f)) obj.metadata.finalizers = [...list, f];
}

/** The three storage admission steps over a reader of StorageClasses. */
export function storageAdmission(classes: ObjectReader): AdmissionPlugin[] {
  return [
    {
      name: "DefaultStorageClass",
      async admit(a) {
        if (!isCore(a, "persistentvolumeclaims") || a.operation !== "CREATE" || !a.object) return;
        const obj = a.object;
        if (obj.spec?.storageClassName != null) return;
        if (obj.metadata?.annotations?.["volume.beta.kubernetes.io/storage-class"] != null) return;
        const dflt = defaultClass(await classes.list(""));
        if (dflt) {
          obj.spec ??= {};
          obj.spec.storageClassName = dflt.metadata!.name;
        }
      },
    },
    {
      name: "StorageObjectInUseProtection",
      admit(a) {
        if (a.operation !== "CREATE" || !a.object) return;
        if (isCore(a, "persistentvolumeclaims")) addFinalizer(a.object, PVC_PROTECTION);
        else if (isCore(a, "persistentvolumes")) addFinalizer(a.object, PV_PROTECTION);
      },
    },
    {
      name: "PersistentVolumeClaimResize",
      async validate(a) {
        if (!isCore(a, "persistentvolumeclaims") || a.operation !== "UPDATE" || !a.object || !a.oldObject) {
          return;
        }
        const next = parseQuantity(a.object.spec?.resources?.requests?.storage);
        const prev = parseQuantity(a.oldObject.spec?.resources?.requests?.storage);
        if (!next || !prev || compareQuantities(next, prev) <= 0) return;
        const name = storageClassOf(a.oldObject);
        const sc = name ? await classes.get("", name) : null;
        if ((sc as Record<string, unknown> | null)?.allowVolumeExpansion === true) return;
        throw forbidden(
          { group: "", resource: "persistentvolumeclaims" },
          a.name,
          "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
        );
      },
    },
  ];
}
