/**
 * Pod Security levels, versions and namespace policies (upstream
 * `staging/src/k8s.io/pod-security-admission/api`): the `pod-security.kubernetes.io/<mode>` and
 * `<mode>-version` labels parsed into the level+version each of enforce, audit and warn applies,
 * with upstream's field errors for bad values. Pure.
 *
 * @example
 * ```ts
 * const { policy } = policyToEvaluate({ "pod-security.kubernetes.io/enforce": "restricted" });
 * levelVersionString(policy.enforce); // "restricted:latest"
 * ```
 * @module
 */
import { fieldError, type StatusCause } from "../../../api/status.ts";

export type Level = "privileged" | "baseline" | "restricted";
export const LEVELS: readonly Level[] = ["privileged", "baseline", "restricted"];

/** A policy version: `latest`, or `v1.<minor>`. */
export type Version = { latest: true } | { latest: false; minor: number };
export const LATEST: Version = { latest: true };

/** The newest policy version this server knows (its Kubernetes minor). */
export const MAX_MINOR = 32;

export interface LevelVersion {
  level: Level;
  version: Version;
}

/** The level+version of each mode. */
export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

export type Mode = keyof Policy;
export const MODES: readonly Mode[] = ["enforce", "audit", "warn"];
export const LABEL_PREFIX = "pod-security.kubernetes.io/";

/** Annotation keys upstream adds to audit events. */
export const ENFORCED_POLICY_ANNOTATION = "pod-security.kubernetes.io/enforce-policy";
export const AUDIT_VIOLATIONS_ANNOTATION = "pod-security.kubernetes.io/audit-violations";
export const EXEMPT_ANNOTATION = "pod-security.kubernetes.io/exempt";

/** `privileged:latest` for every mode: upstream's default for namespaces without labels. */
export const DEFAULT_POLICY: Policy = {
  enforce: { level: "privileged", version: LATEST },
  audit: { level: "privileged", version: LATEST },
  warn: { level: "privileged", version: LATEST },
};

export function versionString(v: Version): string {
  return v.latest ? "latest" : `v1.${v.minor}`;
}

/** `restricted:latest`, `baseline:v1.25`. */
export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return levelVersionString(a) === levelVersionString(b);
}

/** -1, 0 or 1 as `a` is less, equally or more restrictive than `b`. */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

/** Upstream `ParseLevel`: an unknown level is an error (and evaluated as restricted). */
export function parseLevel(s: string): [Level, string | null] {
  if ((LEVELS as readonly string[]).includes(s)) return [s as Level, null];
  return ["restricted", `must be one of ${LEVELS.join(", ")}`];
}

/** Upstream `ParseVersion`: `latest` or `v1.<minor>`. */
export function parseVersion(s: string): [Version, string | null] {
  if (s === "latest") return [LATEST, null];
  const m = /^v1\.(0|[1-9][0-9]*)$/.exec(s);
  if (!m) return [LATEST, `must be "latest" or "v1.x"`];
  return [{ latest: false, minor: Number(m[1]) }, null];
}

/**
 * Upstream `PolicyToEvaluate`: the policy a namespace's labels select (modes without a label keep
 * `defaults`), and a field error per bad label value.
 */
export function policyToEvaluate(
  labels: Record<string, string> | undefined,
  defaults: Policy = DEFAULT_POLICY,
): { policy: Policy; errors: StatusCause[] } {
  const policy: Policy = structuredClone(defaults);
  const errors: StatusCause[] = [];
  for (const mode of MODES) {
    const levelKey = `${LABEL_PREFIX}${mode}`;
    const versionKey = `${levelKey}-version`;
    let validLevel = false;
    if (labels && levelKey in labels) {
      const [level, err] = parseLevel(labels[levelKey]);
      policy[mode].level = level;
      validLevel = !err;
      if (err) errors.push(fieldError.invalid(`metadata.labels[${levelKey}]`, labels[levelKey], err));
    }
    if (labels && versionKey in labels) {
      const [version, err] = parseVersion(labels[versionKey]);
      policy[mode].version = version;
      if (err) errors.push(fieldError.invalid(`metadata.labels[${versionKey}]`, labels[versionKey], err));
    } else if (validLevel) {
      policy[mode].version = LATEST;
    }
  }
  return { policy, errors };
}

/** Whether no mode evaluates anything. */
export function fullyPrivileged(p: Policy): boolean {
  return MODES.every((m) => p[m].level === "privileged");
}
