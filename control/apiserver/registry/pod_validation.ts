/**
 * Pod spec validation as upstream's `ValidatePodSpec`, `ValidatePodTemplateSpec`,
 * `ValidatePodCreate` and `ValidatePodUpdate` (only images, activeDeadlineSeconds, added
 * tolerations and a negative grace period set to 1 may change).
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { fieldError, type StatusCause } from "../../api/status.ts";
import { clone, deepEqual, type KubeObject } from "../../api/types.ts";
import {
  dns1123Label,
  validateContainers,
  validateEphemeralContainers,
  validateInitContainers,
} from "./container_validation.ts";
import { validateLabels, validateObjectMeta, validateTemplateMeta } from "./metadata.ts";
import { isDNS1123Subdomain, isQualifiedName, isValidLabelValue, nameIsDNSSubdomain } from "./names.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

const MAX_INT32 = 2147483647;
const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "projected",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
  "image",
];

/** `ValidateVolumes`: names are unique DNS-1123 labels, each with exactly one source. */
export function validateVolumes(volumes: unknown, path: string): { names: Set<string>; errs: StatusCause[] } {
  const errs: StatusCause[] = [];
  const names = new Set<string>();
  arr(volumes).forEach((v: Obj, i) => {
    const at = `${path}[${i}]`;
    const sources = VOLUME_SOURCES.filter((s) => v?.[s] != null);
    if (sources.length === 0) errs.push(fieldError.required(at, "must specify a volume type"));
    else if (sources.length > 1) {
      errs.push(fieldError.forbidden(`${at}.${sources[1]}`, "may not specify more than 1 volume type"));
    }
    if (v?.hostPath && !v.hostPath.path) errs.push(fieldError.required(`${at}.hostPath.path`));
    if (v?.secret && !v.secret.secretName) errs.push(fieldError.required(`${at}.secret.secretName`));
    if (v?.configMap && !v.configMap.name) errs.push(fieldError.required(`${at}.configMap.name`));
    if (v?.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) {
      errs.push(fieldError.required(`${at}.persistentVolumeClaim.claimName`));
    }
    if (!v?.name) errs.push(fieldError.required(`${at}.name`));
    else errs.push(...dns1123Label(v.name, `${at}.name`));
    if (names.has(v?.name)) errs.push(fieldError.duplicate(`${at}.name`, v.name));
    else names.add(v?.name);
  });
  return { names, errs };
}

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/** `ValidateTolerations`. */
export function validateTolerations(tolerations: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  arr(tolerations).forEach((t: Obj, i) => {
    const at = `${path}[${i}]`;
    if (t?.key) {
      for (const msg of isQualifiedName(t.key)) errs.push(fieldError.invalid(`${at}.key`, t.key, msg));
    }
    if (!t?.key && t?.operator !== "Exists") {
      errs.push(
        fieldError.invalid(
          `${at}.operator`,
          t?.operator ?? "",
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (t?.tolerationSeconds !== undefined && t?.effect !== "NoExecute") {
      errs.push(
        fieldError.invalid(
          `${at}.effect`,
          t?.effect ?? "",
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
    switch (t?.operator) {
      case "Equal":
      case "":
      case undefined: {
        const msgs = isValidLabelValue(t?.value ?? "");
        if (msgs.length) errs.push(fieldError.invalid(`${at}.operator`, t?.value ?? "", msgs.join(";")));
        break;
      }
      case "Exists":
        if (t.value) {
          errs.push(
            fieldError.invalid(`${at}.operator`, t.value, "value must be empty when `operator` is 'Exists'"),
          );
        }
        break;
      default:
        errs.push(fieldError.notSupported(`${at}.operator`, t.operator, ["Equal", "Exists"]));
    }
    if (t?.effect && !TAINT_EFFECTS.includes(t.effect)) {
      errs.push(fieldError.notSupported(`${at}.effect`, t.effect, TAINT_EFFECTS));
    }
  });
  return errs;
}

/** `validateRestartPolicy`. */
export function validateRestartPolicy(policy: unknown, path: string): StatusCause[] {
  if (policy === "Always" || policy === "OnFailure" || policy === "Never") return [];
  if (!policy) return [fieldError.required(path)];
  return [fieldError.notSupported(path, policy, ["Always", "OnFailure", "Never"])];
}

const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];

/**
 * `ValidatePodSpec` at `path` (`spec` for pods, `spec.template.spec` for workloads).
 * `extraVolumes` are names mounts may also refer to (a StatefulSet's volume claim templates).
 */
export function validatePodSpec(spec: unknown, path: string, extraVolumes: string[] = []): StatusCause[] {
  const s = (spec ?? {}) as Obj;
  const { names: volumes, errs } = validateVolumes(s.volumes, `${path}.volumes`);
  for (const v of extraVolumes) volumes.add(v);
  const grace = typeof s.terminationGracePeriodSeconds === "number"
    ? s.terminationGracePeriodSeconds
    : undefined;
  errs.push(...validateContainers(s.containers, volumes, `${path}.containers`, grace));
  errs.push(
    ...validateInitContainers(s.initContainers, s.containers, volumes, `${path}.initContainers`, grace),
  );
  errs.push(
    ...validateEphemeralContainers(
      s.ephemeralContainers,
      s.containers,
      s.initContainers,
      volumes,
      `${path}.ephemeralContainers`,
    ),
  );
  if (s.hostNetwork) {
    arr(s.containers).forEach((c: Obj, i) => {
      arr(c?.ports).forEach((p: Obj, j) => {
        if (p?.hostPort && p?.containerPort && p.hostPort !== p.containerPort) {
          errs.push(
            fieldError.invalid(
              `${path}.containers[${i}].ports[${j}].containerPort`,
              p.containerPort,
              "must match `hostPort` when `hostNetwork` is true",
            ),
          );
        }
      });
    });
  }
  errs.push(...validateRestartPolicy(s.restartPolicy, `${path}.restartPolicy`));
  if (!s.dnsPolicy) errs.push(fieldError.required(`${path}.dnsPolicy`));
  else if (!DNS_POLICIES.includes(s.dnsPolicy)) {
    errs.push(fieldError.notSupported(`${path}.dnsPolicy`, s.dnsPolicy, DNS_POLICIES));
  }
  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  for (const [field, value] of [["serviceAccountName", s.serviceAccountName], ["nodeName", s.nodeName]]) {
    if (value) {
      for (const msg of isDNS1123Subdomain(value)) {
        errs.push(fieldError.invalid(`${path}.${field}`, value, msg));
      }
    }
  }
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds !== null) {
    const v = s.activeDeadlineSeconds;
    if (typeof v !== "number" || v < 1 || v > MAX_INT32) {
      errs.push(
        fieldError.invalid(
          `${path}.activeDeadlineSeconds`,
          v,
          `must be between 1 and ${MAX_INT32}, inclusive`,
        ),
      );
    }
  }
  if (s.hostname) errs.push(...dns1123Label(s.hostname, `${path}.hostname`));
  if (s.subdomain) errs.push(...dns1123Label(s.subdomain, `${path}.subdomain`));
  errs.push(...validateTolerations(s.tolerations, `${path}.tolerations`));
  if (s.priorityClassName) {
    for (const msg of isDNS1123Subdomain(s.priorityClassName)) {
      errs.push(fieldError.invalid(`${path}.priorityClassName`, s.priorityClassName, msg));
    }
  }
  if (s.runtimeClassName) {
    for (const msg of isDNS1123Subdomain(s.runtimeClassName)) {
      errs.push(fieldError.invalid(`${path}.runtimeClassName`, s.runtimeClassName, msg));
    }
  }
  return errs;
}

/** `ValidatePodTemplateSpec` at `path` (e.g. `spec.template`). */
export function validatePodTemplateSpec(
  template: unknown,
  path: string,
  extraVolumes: string[] = [],
): StatusCause[] {
  if (!template || typeof template !== "object") return [fieldError.required(path)];
  const t = template as Obj;
  const errs = validateTemplateMeta(t.metadata, `${path}.metadata`);
  errs.push(...validatePodSpec(t.spec, `${path}.spec`, extraVolumes));
  if (arr(t.spec?.ephemeralContainers).length > 0) {
    errs.push(
      fieldError.forbidden(
        `${path}.spec.ephemeralContainers`,
        "ephemeral containers not allowed in pod template",
      ),
    );
  }
  return errs;
}

/** The field list in upstream's "pod updates may not change fields other than" message. */
export const POD_UPDATABLE_FIELDS =
  "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** A short cmp.Diff-like rendering of the top-level spec fields that differ. */
function specDiff(oldSpec: Obj, newSpec: Obj): string {
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
  const lines = ["  core.PodSpec{"];
  for (const k of keys) {
    if (deepEqual(oldSpec[k], newSpec[k])) continue;
    const name = k[0].toUpperCase() + k.slice(1);
    if (oldSpec[k] !== undefined) lines.push(`- \t${name}: ${JSON.stringify(oldSpec[k])},`);
    if (newSpec[k] !== undefined) lines.push(`+ \t${name}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push("  }");
  return lines.join("\n");
}

/** The pod-spec update rules of `ValidatePodUpdate`. */
export function validatePodSpecUpdate(newSpec: Obj, oldSpec: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const nd = newSpec.activeDeadlineSeconds;
  const od = oldSpec.activeDeadlineSeconds;
  if (nd !== undefined && nd !== null) {
    if (nd < 0 || nd > MAX_INT32) {
      return [
        fieldError.invalid("spec.activeDeadlineSeconds", nd, `must be between 0 and ${MAX_INT32}, inclusive`),
      ];
    }
    if (od !== undefined && od !== null && od < nd) {
      return [
        fieldError.invalid("spec.activeDeadlineSeconds", nd, "must be less than or equal to previous value"),
      ];
    }
  } else if (od !== undefined && od !== null) {
    errs.push(
      fieldError.invalid(
        "spec.activeDeadlineSeconds",
        null,
        "must not update from a positive integer to nil value",
      ),
    );
  }
  const oldTolerations = arr(oldSpec.tolerations);
  const newTolerations = arr(newSpec.tolerations);
  oldTolerations.forEach((t: Obj, i) => {
    const kept = newTolerations.some((n: Obj) =>
      deepEqual({ ...n, tolerationSeconds: undefined }, { ...t, tolerationSeconds: undefined })
    );
    if (!kept) {
      errs.push(
        fieldError.forbidden(
          `spec.tolerations[${i}]`,
          "existing toleration can not be modified except its tolerationSeconds",
        ),
      );
    }
  });
  const munged = clone(newSpec);
  for (const list of ["containers", "initContainers"] as const) {
    arr(munged[list]).forEach((c: Obj, i) => {
      const old = arr(oldSpec[list])[i];
      if (old && c) c.image = old.image;
    });
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.tolerations = oldSpec.tolerations;
  if (
    typeof oldSpec.terminationGracePeriodSeconds === "number" && oldSpec.terminationGracePeriodSeconds < 0 &&
    munged.terminationGracePeriodSeconds === 1
  ) munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  if (!deepEqual(munged, oldSpec)) {
    errs.push(
      fieldError.forbidden(
        "spec",
        `pod updates may not change fields other than ${POD_UPDATABLE_FIELDS}\n${specDiff(oldSpec, munged)}`,
      ),
    );
  }
  return errs;
}

/**
 * Pod validation: metadata, spec, and on update the immutability rules. An update that keeps the
 * stored spec as it is (every `pods/status` write: the kubelet's, the scheduler's conditions)
 * skips the spec's rules, as upstream's `ValidatePodStatusUpdate` does: the stored spec passed
 * them when it was written, and re-checking it cost more than the rest of a status write's checks.
 */
export function validatePod(obj: KubeObject, old?: KubeObject, subresource?: string): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  if (old && deepEqual(obj.spec, old.spec)) return errs;
  errs.push(...validatePodSpec(obj.spec, "spec"));
  if (!old && arr(obj.spec?.ephemeralContainers).length) {
    errs.push(fieldError.forbidden("spec.ephemeralContainers", "cannot be set on create"));
  }
  if (old && subresource === "ephemeralcontainers") errs.push(...validateEphemeralUpdate(obj, old));
  else if (old) errs.push(...validatePodSpecUpdate(obj.spec ?? {}, old.spec ?? {}));
  return errs;
}

/**
 * `ValidatePodEphemeralContainersUpdate`: through `pods/ephemeralcontainers` ephemeral containers
 * are only added; the ones there stay as they are.
 */
function validateEphemeralUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const errs: StatusCause[] = [];
  const now = new Map(arr(obj.spec?.ephemeralContainers).map((c: Obj) => [c?.name, c]));
  for (const was of arr(old.spec?.ephemeralContainers)) {
    const is = now.get(was?.name);
    if (!is) {
      const detail = `existing ephemeral containers "${was?.name}" may not be removed\n`;
      errs.push(fieldError.forbidden("spec.ephemeralContainers", detail));
    } else if (!deepEqual(is, was)) {
      const detail = `existing ephemeral containers "${was?.name}" may not be changed\n`;
      errs.push(fieldError.forbidden("spec.ephemeralContainers", detail));
    }
  }
  return errs;
}
