/**
 * The Pod Security Standards' restricted checks (upstream `check_*.go`): volume types,
 * allowPrivilegeEscalation, runAsNonRoot, runAsUser, seccomp and capabilities (drop ALL, add at
 * most NET_BIND_SERVICE), with upstream's reasons and details. Pure.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import {
  type CheckFn,
  containersOf,
  containersPhrase,
  joinQuote,
  pluralize,
  seccompTypeAllowed,
} from "./baseline.ts";

type Obj = Record<string, any>;
const sc = (c: Obj): Obj => c.securityContext ?? {};
const podSc = (spec: Obj): Obj => spec?.securityContext ?? {};
const isWindows = (spec: Obj) => spec?.os?.name === "windows";
const sortedSet = (s: Set<string>) => [...s].sort();

const ALLOWED_VOLUMES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
/** The order upstream names a restricted volume's type in. */
const VOLUME_TYPES = [
  "hostPath",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
];

export const restrictedVolumes: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const v of (spec?.volumes ?? []) as Obj[]) {
    if (!v || ALLOWED_VOLUMES.some((k) => v[k] != null)) continue;
    bad.push(String(v.name));
    types.add(VOLUME_TYPES.find((k) => v[k] != null) ?? "unknown");
  }
  if (!bad.length) return null;
  return {
    reason: "restricted volume types",
    detail: `${pluralize("volume", "volumes", bad.length)} ${joinQuote(bad)} ${
      pluralize("uses", "use", bad.length)
    } ${pluralize("restricted volume type", "restricted volume types", types.size)} ${
      joinQuote(sortedSet(types))
    }`,
  };
};

export const allowPrivilegeEscalation_1_8: CheckFn = (_m, spec) => {
  const bad = containersOf(spec).filter((c) => sc(c).allowPrivilegeEscalation !== false).map((c) =>
    String(c.name)
  );
  return bad.length
    ? {
      reason: "allowPrivilegeEscalation != false",
      detail: `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`,
    }
    : null;
};

/** From v1.25 Windows pods are exempt from the Linux-only checks. */
const notOnWindows = (fn: CheckFn): CheckFn => (m, spec) => isWindows(spec) ? null : fn(m, spec);
export const allowPrivilegeEscalation_1_25 = notOnWindows(allowPrivilegeEscalation_1_8);

export const runAsNonRoot: CheckFn = (_m, spec) => {
  const setters: string[] = [];
  let podNonRoot = false;
  const podValue = podSc(spec).runAsNonRoot;
  if (typeof podValue === "boolean") {
    if (!podValue) setters.push("pod");
    else podNonRoot = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containersOf(spec)) {
    const v = sc(c).runAsNonRoot;
    if (typeof v === "boolean") {
      if (!v) explicit.push(String(c.name));
    } else if (!podNonRoot) implicit.push(String(c.name));
  }
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) {
    return {
      reason: "runAsNonRoot != true",
      detail: `${setters.join(" and ")} must not set securityContext.runAsNonRoot=false`,
    };
  }
  if (implicit.length) {
    return {
      reason: "runAsNonRoot != true",
      detail: `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`,
    };
  }
  return null;
};

export const runAsUser: CheckFn = (_m, spec) => {
  const setters: string[] = [];
  if (podSc(spec).runAsUser === 0) setters.push("pod");
  const bad = containersOf(spec).filter((c) => sc(c).runAsUser === 0).map((c) => String(c.name));
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length
    ? { reason: "runAsUser=0", detail: `${setters.join(" and ")} must not set runAsUser=0` }
    : null;
};

export const seccompRestricted_1_19: CheckFn = (_m, spec) => {
  const setters: string[] = [];
  const values = new Set<string>();
  let podSet = false;
  const podProfile = podSc(spec).seccompProfile;
  if (podProfile) {
    if (!seccompTypeAllowed(podProfile.type)) {
      setters.push("pod");
      values.add(String(podProfile.type));
    } else podSet = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containersOf(spec)) {
    const p = sc(c).seccompProfile;
    if (p) {
      if (!seccompTypeAllowed(p.type)) {
        explicit.push(String(c.name));
        values.add(String(p.type));
      }
    } else if (!podSet) implicit.push(String(c.name));
  }
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) {
    return {
      reason: "seccompProfile",
      detail: `${setters.join(" and ")} must not set securityContext.seccompProfile.type to ${
        joinQuote(sortedSet(values))
      }`,
    };
  }
  if (implicit.length) {
    return {
      reason: "seccompProfile",
      detail: `pod or ${
        containersPhrase(implicit)
      } must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    };
  }
  return null;
};
export const seccompRestricted_1_25 = notOnWindows(seccompRestricted_1_19);

export const capabilitiesRestricted_1_22: CheckFn = (_m, spec) => {
  const missingDrop: string[] = [];
  const adding: string[] = [];
  const caps = new Set<string>();
  for (const c of containersOf(spec)) {
    const capabilities = sc(c).capabilities;
    if (!capabilities) {
      missingDrop.push(String(c.name));
      continue;
    }
    if (!(capabilities.drop ?? []).includes("ALL")) missingDrop.push(String(c.name));
    const extra = (capabilities.add ?? []).map(String).filter((cap: string) => cap !== "NET_BIND_SERVICE");
    if (extra.length) {
      adding.push(String(c.name));
      extra.forEach((cap: string) => caps.add(cap));
    }
  }
  const details: string[] = [];
  if (missingDrop.length) {
    details.push(`${containersPhrase(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`);
  }
  if (adding.length) {
    details.push(
      `${containersPhrase(adding)} must not include ${
        joinQuote(sortedSet(caps))
      } in securityContext.capabilities.add`,
    );
  }
  return details.length ? { reason: "unrestricted capabilities", detail: details.join("; ") } : null;
};
export const capabilitiesRestricted_1_25 = notOnWindows(capabilitiesRestricted_1_22);
