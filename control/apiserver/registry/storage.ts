/**
 * storage.k8s.io/v1 `storageclasses`, `csidrivers` and `volumeattachments`, with upstream's
 * defaults (`SetDefaults_StorageClass`, `SetDefaults_CSIDriver`), validation (and update rules)
 * and kubectl tables. See docs/storage.md.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";
import { isDefaultClass } from "../../api/storage.ts";
import { immutableField, validateObjectMeta } from "./metadata.ts";
import { isDNS1123Subdomain, isQualifiedName, nameIsDNSSubdomain } from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

const RECLAIM = ["Delete", "Retain"];
const BINDING_MODES = ["Immediate", "WaitForFirstConsumer"];
const LIFECYCLE_MODES = ["Ephemeral", "Persistent"];
const FS_GROUP_POLICIES = ["File", "None", "ReadWriteOnceWithFSType"];

/** `validateProvisioner`: required, a qualified name, at most 63 characters. */
function validateProvisioner(p: unknown, path: string): StatusCause[] {
  if (typeof p !== "string" || p === "") return [fieldError.required(path)];
  if (p.length > 63) return [fieldError.tooLong(path, 63)];
  return isQualifiedName(p.toLowerCase()).map((m) => fieldError.invalid(path, p, m));
}

/** `ValidateStorageClass` and `ValidateStorageClassUpdate`. */
export function validateStorageClass(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const o = obj as Record<string, any>;
  errs.push(...validateProvisioner(o.provisioner, "provisioner"));
  for (const k of Object.keys(o.parameters ?? {})) {
    if (k === "") errs.push(fieldError.invalid("parameters", k, "field can not be empty."));
  }
  if (o.reclaimPolicy !== undefined && !RECLAIM.includes(o.reclaimPolicy)) {
    errs.push(fieldError.notSupported("reclaimPolicy", o.reclaimPolicy, RECLAIM));
  }
  if (o.volumeBindingMode === undefined) errs.push(fieldError.required("volumeBindingMode"));
  else if (!BINDING_MODES.includes(o.volumeBindingMode)) {
    errs.push(fieldError.notSupported("volumeBindingMode", o.volumeBindingMode, BINDING_MODES));
  }
  if (old) {
    const p = old as Record<string, any>;
    if (!deepEqual(o.parameters ?? {}, p.parameters ?? {})) {
      errs.push(fieldError.forbidden("parameters", "updates to parameters are forbidden."));
    }
    if (o.provisioner !== p.provisioner) {
      errs.push(fieldError.forbidden("provisioner", "updates to provisioner are forbidden."));
    }
    if (o.reclaimPolicy !== p.reclaimPolicy) {
      errs.push(fieldError.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
    }
    errs.push(...immutableField(o.volumeBindingMode, p.volumeBindingMode, "volumeBindingMode"));
  }
  return errs;
}

/** StorageClasses. */
export const storageClasses: ResourceDef = {
  group: "storage.k8s.io",
  version: "v1",
  kind: "StorageClass",
  listKind: "StorageClassList",
  plural: "storageclasses",
  singular: "storageclass",
  namespaced: false,
  shortNames: ["sc"],
  schema: "V1StorageClass",
  defaults(obj) {
    const o = obj as Record<string, any>;
    o.reclaimPolicy ??= "Delete";
    o.volumeBindingMode ??= "Immediate";
  },
  validate: validateStorageClass,
  table: {
    columns: [
      nameColumn,
      column("Provisioner", "Indicates the type of the provisioner."),
      column("ReclaimPolicy", "Indicates the type of the reclaim policy."),
      column("VolumeBindingMode", "Indicates the volume binding mode."),
      column("AllowVolumeExpansion", "Indicates whether the storage class allow volume expand."),
      ageColumn,
    ],
    cells(obj, now) {
      const o = obj as Record<string, any>;
      const name = (obj.metadata?.name ?? "") + (isDefaultClass(obj) ? " (default)" : "");
      return [
        name,
        o.provisioner ?? "",
        o.reclaimPolicy ?? "Delete",
        o.volumeBindingMode ?? "Immediate",
        String(o.allowVolumeExpansion ?? false),
        age(obj, now),
      ];
    },
  },
};

/** `ValidateCSIDriver` and its update rule (attachRequired, podInfoOnMount and modes are immutable). */
export function validateCSIDriver(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const name = obj.metadata?.name ?? "";
  if (name.length > 63) errs.push(fieldError.tooLong("metadata.name", 63));
  const spec = (obj.spec ?? {}) as Record<string, any>;
  if (spec.attachRequired === undefined) errs.push(fieldError.required("spec.attachRequired"));
  if (spec.podInfoOnMount === undefined) errs.push(fieldError.required("spec.podInfoOnMount"));
  for (const [i, m] of (spec.volumeLifecycleModes ?? []).entries()) {
    if (!LIFECYCLE_MODES.includes(m)) {
      errs.push(fieldError.notSupported(`spec.volumeLifecycleModes[${i}]`, m, LIFECYCLE_MODES));
    }
  }
  if (spec.fsGroupPolicy !== undefined && !FS_GROUP_POLICIES.includes(spec.fsGroupPolicy)) {
    errs.push(fieldError.notSupported("spec.fsGroupPolicy", spec.fsGroupPolicy, FS_GROUP_POLICIES));
  }
  if (old) {
    const o = (old.spec ?? {}) as Record<string, any>;
    errs.push(...immutableField(spec.attachRequired, o.attachRequired, "spec.attachRequired"));
    errs.push(
      ...immutableField(spec.volumeLifecycleModes, o.volumeLifecycleModes, "spec.volumeLifecycleModes"),
    );
  }
  return errs;
}

/** CSIDrivers: the storage drivers (built-in `local-path.skiff.dev`, storage plugins). */
export const csiDrivers: ResourceDef = {
  group: "storage.k8s.io",
  version: "v1",
  kind: "CSIDriver",
  listKind: "CSIDriverList",
  plural: "csidrivers",
  singular: "csidriver",
  namespaced: false,
  schema: "V1CSIDriver",
  defaults(obj) {
    obj.spec ??= {};
    const s = obj.spec as Record<string, any>;
    s.attachRequired ??= true;
    s.podInfoOnMount ??= false;
    s.requiresRepublish ??= false;
    s.storageCapacity ??= false;
    s.seLinuxMount ??= false;
    s.fsGroupPolicy ??= "ReadWriteOnceWithFSType";
    s.volumeLifecycleModes ??= ["Persistent"];
  },
  validate: validateCSIDriver,
  table: {
    columns: [
      nameColumn,
      column("AttachRequired", "Indicates this CSI volume driver requires an attach operation."),
      column(
        "PodInfoOnMount",
        "Indicates this CSI volume driver requires additional pod information during mount operations.",
      ),
      column(
        "StorageCapacity",
        "Indicates that the driver's storage capacity is published as CSIStorageCapacity objects.",
      ),
      column("TokenRequests", "Indicates the ServiceAccount tokens the driver asks for."),
      column(
        "RequiresRepublish",
        "Indicates this CSI volume driver requires NodePublishVolume being periodically called.",
      ),
      column("Modes", "Indicates volume lifecycle modes."),
      ageColumn,
    ],
    cells(obj, now) {
      const s = (obj.spec ?? {}) as Record<string, any>;
      const tokens = (s.tokenRequests ?? []).map((t: any) => t.audience).join(",");
      return [
        obj.metadata?.name ?? "",
        String(s.attachRequired ?? true),
        String(s.podInfoOnMount ?? false),
        String(s.storageCapacity ?? false),
        tokens || "<unset>",
        String(s.requiresRepublish ?? false),
        (s.volumeLifecycleModes ?? []).join(","),
        age(obj, now),
      ];
    },
  },
};

/** `ValidateVolumeAttachment`: attacher, nodeName and exactly one source; the spec is immutable. */
export function validateVolumeAttachment(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const spec = (obj.spec ?? {}) as Record<string, any>;
  if (!spec.attacher) errs.push(fieldError.required("spec.attacher"));
  else {errs.push(
      ...isDNS1123Subdomain(String(spec.attacher).toLowerCase()).map((m) =>
        fieldError.invalid("spec.attacher", spec.attacher, m)
      ),
    );}
  if (!spec.nodeName) errs.push(fieldError.required("spec.nodeName"));
  const src = spec.source ?? {};
  const n = (src.persistentVolumeName ? 1 : 0) + (src.inlineVolumeSpec ? 1 : 0);
  if (n !== 1) {
    errs.push(
      fieldError.forbidden(
        "spec.source",
        "must specify exactly one of persistentVolumeName and inlineVolumeSpec",
      ),
    );
  }
  if (old && !deepEqual(obj.spec, old.spec)) {
    errs.push(fieldError.invalid("spec", obj.spec, "field is immutable"));
  }
  return errs;
}

/** VolumeAttachments (served for clients; Skiff's built-in driver needs no attach step). */
export const volumeAttachments: ResourceDef = {
  group: "storage.k8s.io",
  version: "v1",
  kind: "VolumeAttachment",
  listKind: "VolumeAttachmentList",
  plural: "volumeattachments",
  singular: "volumeattachment",
  namespaced: false,
  subresources: { status: true },
  schema: "V1VolumeAttachment",
  validate: validateVolumeAttachment,
  table: {
    columns: [
      nameColumn,
      column("Attacher", "Attacher indicates the name of the volume driver that MUST handle this request."),
      column("PV", "Name of the persistent volume to attach."),
      column("Node", "The node that the volume should be attached to."),
      column("Attached", "Indicates the volume is successfully attached."),
      ageColumn,
    ],
    cells(obj, now) {
      const s = (obj.spec ?? {}) as Record<string, any>;
      return [
        obj.metadata?.name ?? "",
        s.attacher ?? "",
        s.source?.persistentVolumeName ?? "",
        s.nodeName ?? "",
        String(obj.status?.attached ?? false),
        age(obj, now),
      ];
    },
  },
};

/** Every storage.k8s.io kind. */
export const storageResources: ResourceDef[] = [storageClasses, csiDrivers, volumeAttachments];
