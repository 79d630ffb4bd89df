/**
 * The versioned check registry and pod evaluation (upstream `policy/registry.go`,
 * `checks.go`): which checks a level+version runs (baseline checks sorted by id, then restricted
 * ones; a restricted check replaces the baseline check it overrides), and the aggregated
 * `reason (detail), reason (detail)` text of the violations.
 *
 * WebAssembly pods are evaluated only on the checks that mean something for a component: the
 * sandbox has no Linux user, capabilities, seccomp, AppArmor, SELinux, /proc, sysctls or setuid
 * binaries, so only `hostNamespaces` (hostNetwork gives the component the node's addresses),
 * `hostPathVolumes` and `restrictedVolumes` (volumes are preopened directories) and `hostPorts`
 * apply. Pure.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import * as b from "./baseline.ts";
import type { CheckFn, Violation } from "./baseline.ts";
import { type LevelVersion, MAX_MINOR } from "./policy.ts";
import * as r from "./restricted.ts";

interface VersionedCheck {
  minMinor: number;
  fn: CheckFn;
  overrides?: string[];
}

interface Check {
  id: string;
  level: "baseline" | "restricted";
  versions: VersionedCheck[];
}

const v = (minMinor: number, fn: CheckFn, overrides?: string[]): VersionedCheck => ({
  minMinor,
  fn,
  overrides,
});

/** Upstream's `DefaultChecks` as of v1.32. */
export const CHECKS: readonly Check[] = [
  { id: "appArmorProfile", level: "baseline", versions: [v(0, b.appArmorProfile)] },
  { id: "capabilities_baseline", level: "baseline", versions: [v(0, b.capabilitiesBaseline)] },
  { id: "hostNamespaces", level: "baseline", versions: [v(0, b.hostNamespaces)] },
  { id: "hostPathVolumes", level: "baseline", versions: [v(0, b.hostPathVolumes)] },
  { id: "hostPorts", level: "baseline", versions: [v(0, b.hostPorts)] },
  { id: "privileged", level: "baseline", versions: [v(0, b.privileged)] },
  { id: "procMount", level: "baseline", versions: [v(0, b.procMount)] },
  {
    id: "seLinuxOptions",
    level: "baseline",
    versions: [v(0, b.seLinuxOptions_1_0), v(31, b.seLinuxOptions_1_31)],
  },
  {
    id: "seccompProfile_baseline",
    level: "baseline",
    versions: [v(0, b.seccompBaseline_1_0), v(19, b.seccompBaseline_1_19)],
  },
  {
    id: "sysctls",
    level: "baseline",
    versions: [v(0, b.sysctls_1_0), v(27, b.sysctls_1_27), v(29, b.sysctls_1_29), v(32, b.sysctls_1_32)],
  },
  { id: "windowsHostProcess", level: "baseline", versions: [v(0, b.windowsHostProcess)] },
  {
    id: "allowPrivilegeEscalation",
    level: "restricted",
    versions: [v(8, r.allowPrivilegeEscalation_1_8), v(25, r.allowPrivilegeEscalation_1_25)],
  },
  {
    id: "capabilities_restricted",
    level: "restricted",
    versions: [
      v(22, r.capabilitiesRestricted_1_22, ["capabilities_baseline"]),
      v(25, r.capabilitiesRestricted_1_25, ["capabilities_baseline"]),
    ],
  },
  {
    id: "restrictedVolumes",
    level: "restricted",
    versions: [v(0, r.restrictedVolumes, ["hostPathVolumes"])],
  },
  { id: "runAsNonRoot", level: "restricted", versions: [v(0, r.runAsNonRoot)] },
  { id: "runAsUser", level: "restricted", versions: [v(23, r.runAsUser)] },
  {
    id: "seccompProfile_restricted",
    level: "restricted",
    versions: [
      v(19, r.seccompRestricted_1_19, ["seccompProfile_baseline"]),
      v(25, r.seccompRestricted_1_25, ["seccompProfile_baseline"]),
    ],
  },
];

/** The checks that apply to WebAssembly pods. */
export const WASM_CHECKS: ReadonlySet<string> = new Set([
  "hostNamespaces",
  "hostPathVolumes",
  "hostPorts",
  "restrictedVolumes",
]);

/** The ids and functions a level+version runs, in upstream's order. */
export function checksFor(lv: LevelVersion): { id: string; fn: CheckFn }[] {
  if (lv.level === "privileged") return [];
  const minor = lv.version.latest ? MAX_MINOR : Math.min(lv.version.minor, MAX_MINOR);
  const active = (c: Check) => [...c.versions].reverse().find((x) => x.minMinor <= minor);
  const levels = lv.level === "baseline" ? ["baseline"] : ["baseline", "restricted"];
  const chosen = CHECKS.filter((c) => levels.includes(c.level)).map((c) => ({ c, ver: active(c) })).filter((
    x,
  ) => x.ver);
  const overridden = new Set(
    chosen.filter((x) => x.c.level === "restricted").flatMap((x) => x.ver!.overrides ?? []),
  );
  const byLevelThenId = (x: { c: Check }, y: { c: Check }) =>
    x.c.level === y.c.level
      ? (x.c.id < y.c.id ? -1 : x.c.id > y.c.id ? 1 : 0)
      : x.c.level === "baseline"
      ? -1
      : 1;
  return chosen
    .filter((x) => !(x.c.level === "baseline" && overridden.has(x.c.id)))
    .sort(byLevelThenId)
    .map((x) => ({ id: x.c.id, fn: x.ver!.fn }));
}

/** Upstream `EvaluatePod`: the violations of a pod's metadata and spec. */
export function evaluatePod(
  lv: LevelVersion,
  metadata: Record<string, any>,
  spec: Record<string, any>,
  opts: { wasm?: boolean } = {},
): Violation[] {
  const out: Violation[] = [];
  for (const { id, fn } of checksFor(lv)) {
    if (opts.wasm && !WASM_CHECKS.has(id)) continue;
    const violation = fn(metadata ?? {}, spec ?? {});
    if (violation) out.push(violation);
  }
  return out;
}

/** Upstream `AggregateCheckResult.ForbiddenDetail`: `reason (detail), reason (detail)`. */
export function forbiddenDetail(violations: readonly Violation[]): string {
  return violations.map((x) => (x.detail ? `${x.reason} (${x.detail})` : x.reason)).join(", ");
}

/** Upstream `AggregateCheckResult.ForbiddenReason`: the reasons, comma-separated. */
export function forbiddenReason(violations: readonly Violation[]): string {
  return violations.map((x) => x.reason).join(", ");
}
