/**
 * core/v1 `persistentvolumes` and `persistentvolumeclaims`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import { clone, deepEqual, type KubeObject } from "../../api/types.ts";
import { notSupportedRepr } from "./causes.ts";
import { validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { defaultPVCSpec } from "./pod_defaults.ts";
import {
  compareQuantities,
  defaultResourceList,
  formatQuantity,
  parseQuantity,
  QUANTITY_FORMAT_ERROR,
  quantitySign,
} from "./quantity.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"];
const PV_SOURCES = [
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "hostPath",
  "glusterfs",
  "nfs",
  "rbd",
  "iscsi",
  "cinder",
  "cephfs",
  "fc",
  "flocker",
  "flexVolume",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "local",
  "storageos",
  "csi",
];

/** `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order. */
export function accessModesString(modes: unknown): string {
  const m = new Set(arr(modes));
  const out: string[] = [];
  if (m.has("ReadWriteOnce")) out.push("RWO");
  if (m.has("ReadOnlyMany")) out.push("ROX");
  if (m.has("ReadWriteMany")) out.push("RWX");
  if (m.has("ReadWriteOncePod")) out.push("RWOP");
  return out.join(",");
}

function storageClass(obj: KubeObject): string {
  return obj.metadata?.annotations?.["volume.beta.kubernetes.io/storage-class"] ??
    obj.spec?.storageClassName ?? "";
}

function quantityString(v: unknown): string {
  const q = parseQuantity(v);
  return q ? formatQuantity(q) : "0";
}

function validateAccessModes(modes: unknown, path: string, required: string): StatusCause[] {
  const list = arr(modes);
  if (list.length === 0) return [fieldError.required(path, required)];
  const errs = list.filter((m) => !ACCESS_MODES.includes(m)).map((m) =>
    fieldError.notSupported(path, m, ACCESS_MODES)
  );
  // An impossible combination: ReadWriteOncePod excludes every other mode.
  if (list.includes("ReadWriteOncePod") && list.length > 1) {
    errs.push(fieldError.forbidden(path, "may not use ReadWriteOncePod with other access modes"));
  }
  return errs;
}

function positiveQuantity(value: unknown, path: string): StatusCause[] {
  const q = parseQuantity(value);
  if (!q) return [fieldError.invalid(path, value, QUANTITY_FORMAT_ERROR)];
  return quantitySign(q) > 0 ? [] : [fieldError.invalid(path, String(value), "must be greater than zero")];
}

/** `ValidatePersistentVolumeUpdate`: the volume source, volumeMode and nodeAffinity are immutable. */
function validatePVUpdate(spec: Obj, oldSpec: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const source = (s: Obj) => Object.fromEntries(PV_SOURCES.filter((k) => s[k] != null).map((k) => [k, s[k]]));
  if (!deepEqual(source(spec), source(oldSpec))) {
    errs.push(fieldError.forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
  }
  if ((spec.volumeMode ?? null) !== (oldSpec.volumeMode ?? null)) {
    errs.push(fieldError.invalid("volumeMode", spec.volumeMode ?? null, "field is immutable"));
  }
  if (!deepEqual(spec.nodeAffinity ?? null, oldSpec.nodeAffinity ?? null)) {
    errs.push(fieldError.invalid("nodeAffinity", spec.nodeAffinity ?? null, "field is immutable"));
  }
  return errs;
}

function validatePV(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  errs.push(...validateAccessModes(spec.accessModes, "spec.accessModes", ""));
  const capacity: Obj = spec.capacity ?? {};
  if (Object.keys(capacity).length === 0) errs.push(fieldError.required("spec.capacity"));
  if (!("storage" in capacity) || Object.keys(capacity).length > 1) {
    errs.push(
      notSupportedRepr(
        "spec.capacity",
        `core.ResourceList{${
          Object.keys(capacity).map((k) => `"${k}":${JSON.stringify(capacity[k])}`).join(", ")
        }}`,
        ["storage"],
      ),
    );
  }
  for (const [k, v] of Object.entries(capacity)) errs.push(...positiveQuantity(v, `spec.capacity[${k}]`));
  if (spec.persistentVolumeReclaimPolicy && !RECLAIM_POLICIES.includes(spec.persistentVolumeReclaimPolicy)) {
    errs.push(
      fieldError.notSupported(
        "spec.persistentVolumeReclaimPolicy",
        spec.persistentVolumeReclaimPolicy,
        RECLAIM_POLICIES,
      ),
    );
  }
  const sources = PV_SOURCES.filter((s) => spec[s] != null);
  if (sources.length === 0) errs.push(fieldError.required("spec", "must specify a volume type"));
  else if (sources.length > 1) {
    errs.push(fieldError.forbidden(`spec.${sources[1]}`, "may not specify more than 1 volume type"));
  }
  if (spec.volumeMode && !["Block", "Filesystem"].includes(spec.volumeMode)) {
    errs.push(fieldError.notSupported("spec.volumeMode", spec.volumeMode, ["Block", "Filesystem"]));
  }
  if (old) errs.push(...validatePVUpdate(spec, old.spec ?? {}));
  return errs;
}

/** PersistentVolumes. */
export const persistentVolumes: ResourceDef = {
  group: "",
  version: "v1",
  kind: "PersistentVolume",
  listKind: "PersistentVolumeList",
  plural: "persistentvolumes",
  singular: "persistentvolume",
  namespaced: false,
  shortNames: ["pv"],
  subresources: { status: true },
  schema: "V1PersistentVolume",
  defaults(obj) {
    obj.spec ??= {};
    obj.spec.persistentVolumeReclaimPolicy ||= "Retain";
    obj.spec.volumeMode ??= "Filesystem";
    defaultResourceList(obj.spec.capacity);
    obj.status ??= {};
    obj.status.phase ||= "Pending";
  },
  validate: validatePV,
  table: {
    columns: [
      nameColumn,
      column("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
      column("Access Modes", "accessModes contains all ways the volume can be mounted."),
      column(
        "Reclaim Policy",
        "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
      ),
      column("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
      column(
        "Claim",
        "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
      ),
      column("StorageClass", "StorageClass of the pv"),
      column("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
      column(
        "Reason",
        "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
      ),
      ageColumn,
      column(
        "VolumeMode",
        "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
        { wide: true },
      ),
    ],
    cells(obj, now) {
      const spec: Obj = obj.spec ?? {};
      const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ""}/${spec.claimRef.name ?? ""}` : "";
      return [
        obj.metadata?.name ?? "",
        quantityString(spec.capacity?.storage),
        accessModesString(spec.accessModes),
        spec.persistentVolumeReclaimPolicy ?? "",
        obj.metadata?.deletionTimestamp ? "Terminating" : obj.status?.phase ?? "",
        claim,
        storageClass(obj),
        spec.volumeAttributesClassName ?? "<unset>",
        obj.status?.reason ?? "",
        age(obj, now),
        spec.volumeMode ?? "<unset>",
      ];
    },
  },
};

/**
 * The PVC spec update rule: only `resources.requests` (of a bound claim, never below what the
 * volume has), `volumeAttributesClassName` and a first `volumeName` may change.
 */
function validatePVCUpdate(spec: Obj, oldSpec: Obj, old: KubeObject): StatusCause[] {
  const a = clone(spec);
  const b = clone(oldSpec);
  const bound = old.status?.phase === "Bound";
  for (const s of [a, b]) {
    if (s.resources && bound) delete s.resources.requests;
    delete s.volumeAttributesClassName;
  }
  const errs: StatusCause[] = [];
  const next = parseQuantity(spec.resources?.requests?.storage);
  const capacity = parseQuantity(old.status?.capacity?.storage);
  const prev = parseQuantity(oldSpec.resources?.requests?.storage);
  if (bound && next && (capacity ?? prev) && compareQuantities(next, (capacity ?? prev)!) < 0) {
    errs.push(
      fieldError.forbidden(
        "spec.resources.requests.storage",
        capacity ? "field can not be less than status.capacity" : "field can not be less than previous value",
      ),
    );
  }
  if (!oldSpec.volumeName) {
    delete a.volumeName;
    delete b.volumeName;
  }
  if (deepEqual(a, b)) return errs;
  return [
    fieldError.forbidden(
      "spec",
      "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    ),
    ...errs,
  ];
}

function validatePVC(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  errs.push(
    ...validateAccessModes(spec.accessModes, "spec.accessModes", "at least 1 access mode is required"),
  );
  const storage = spec.resources?.requests?.storage;
  if (storage === undefined) errs.push(fieldError.required("spec.resources[storage]"));
  else errs.push(...positiveQuantity(storage, "spec.resources[storage]"));
  if (spec.volumeMode && !["Block", "Filesystem"].includes(spec.volumeMode)) {
    errs.push(fieldError.notSupported("spec.volumeMode", spec.volumeMode, ["Block", "Filesystem"]));
  }
  if (old) errs.push(...validatePVCUpdate(spec, old.spec ?? {}, old));
  return errs;
}

/** `SetDefaults_PersistentVolumeClaim` and its spec defaults. */
export function defaultPVC(obj: Obj): void {
  obj.spec ??= {};
  defaultPVCSpec(obj.spec);
  obj.status ??= {};
  obj.status.phase ||= "Pending";
}

/** PersistentVolumeClaims. */
export const persistentVolumeClaims: ResourceDef = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  listKind: "PersistentVolumeClaimList",
  plural: "persistentvolumeclaims",
  singular: "persistentvolumeclaim",
  namespaced: true,
  shortNames: ["pvc"],
  subresources: { status: true },
  schema: "V1PersistentVolumeClaim",
  defaults: defaultPVC,
  validate: validatePVC,
  table: {
    columns: [
      nameColumn,
      column("Status", "phase represents the current phase of PersistentVolumeClaim."),
      column("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
      column("Capacity", "capacity represents the actual resources of the underlying volume."),
      column("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
      column("StorageClass", "StorageClass of the pvc"),
      column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
      ageColumn,
      column("VolumeMode", "volumeMode defines what type of volume is required by the claim.", {
        wide: true,
      }),
    ],
    cells(obj, now) {
      const spec: Obj = obj.spec ?? {};
      const bound = Boolean(spec.volumeName);
      return [
        obj.metadata?.name ?? "",
        obj.metadata?.deletionTimestamp ? "Terminating" : obj.status?.phase ?? "",
        spec.volumeName ?? "",
        bound ? quantityString(obj.status?.capacity?.storage) : "",
        bound ? accessModesString(obj.status?.accessModes) : "",
        storageClass(obj),
        spec.volumeAttributesClassName ?? "<unset>",
        age(obj, now),
        spec.volumeMode ?? "<unset>",
      ];
    },
  },
};
