/**
 * The PodSecurity admission step (upstream `pod-security-admission/admission`): the namespace's
 * `pod-security.kubernetes.io/enforce|audit|warn` labels (with `-version`) pick a level for each
 * mode. Pods violating the enforce level are refused (403 `violates PodSecurity
 * "restricted:latest": ...`); violations of the warn level become `Warning` headers (kubectl
 * prints them); violations of the audit level become the audit annotation
 * `pod-security.kubernetes.io/audit-violations`. Workloads with pod templates (Deployments,
 * Jobs, ...) are only warned and audited, never refused. Namespaces are refused bad label values
 * (422) and, when their enforce level is tightened, warned about existing pods that violate it.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { forbidden, invalid } from "../../../api/status.ts";
import type { KubeObject } from "../../../api/types.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "../../context.ts";
import type { ObjectReader } from "../lookup.ts";
import { evaluatePod, forbiddenDetail, forbiddenReason } from "./evaluate.ts";
import {
  AUDIT_VIOLATIONS_ANNOTATION,
  compareLevels,
  DEFAULT_POLICY,
  ENFORCED_POLICY_ANNOTATION,
  EXEMPT_ANNOTATION,
  fullyPrivileged,
  type LevelVersion,
  levelVersionString,
  parseLevel,
  parseVersion,
  type Policy,
  policyToEvaluate,
  sameLevelVersion,
  versionString,
} from "./policy.ts";

/** Upstream's `PodSecurityConfiguration`: defaults for unlabelled namespaces, and exemptions. */
export interface PodSecurityOptions {
  defaults?: Partial<
    Record<"enforce" | "audit" | "warn" | "enforce-version" | "audit-version" | "warn-version", string>
  >;
  exemptions?: { usernames?: string[]; namespaces?: string[]; runtimeClasses?: string[] };
  /** Pods checked when a namespace's enforce level is tightened (upstream 3000). */
  maxPodsToCheck?: number;
  /** Receives audit annotations (also written to `attrs.auditAnnotations` when the pipeline provides it). */
  onAuditAnnotation?(attrs: AdmissionAttributes, key: string, value: string): void;
}

/** What the plugin reads: namespaces and RuntimeClasses (often), pods (when a namespace is tightened). */
export interface PodSecurityReaders {
  namespaces: ObjectReader;
  pods: ObjectReader;
  runtimeClasses: ObjectReader;
}

/** Subresources of pods that are not evaluated (upstream `ignoredPodSubresources`). */
const IGNORED_POD_SUBRESOURCES = new Set([
  "exec",
  "attach",
  "binding",
  "eviction",
  "log",
  "portforward",
  "proxy",
  "status",
]);

/** Where each workload kind keeps its pod template, by storage key. */
const TEMPLATE_PATHS: Record<string, string[]> = {
  "podtemplates": ["template"],
  "replicationcontrollers": ["spec", "template"],
  "replicasets.apps": ["spec", "template"],
  "deployments.apps": ["spec", "template"],
  "statefulsets.apps": ["spec", "template"],
  "daemonsets.apps": ["spec", "template"],
  "jobs.batch": ["spec", "template"],
  "cronjobs.batch": ["spec", "jobTemplate", "spec", "template"],
};

/** The policy used for namespaces without labels, from the configured defaults. */
export function defaultPolicy(d: PodSecurityOptions["defaults"] = {}): Policy {
  const p: Policy = structuredClone(DEFAULT_POLICY);
  for (const mode of ["enforce", "audit", "warn"] as const) {
    if (d[mode]) p[mode].level = parseLevel(d[mode]!)[0];
    if (d[`${mode}-version`]) p[mode].version = parseVersion(d[`${mode}-version`]!)[0];
  }
  return p;
}

/** Upstream `isSignificantPodUpdate`: only image and seccomp-annotation changes are re-evaluated. */
export function isSignificantPodUpdate(pod: KubeObject, old: KubeObject): boolean {
  const ann = pod.metadata.annotations ?? {};
  const oldAnn = old.metadata.annotations ?? {};
  const seccompPod = "seccomp.security.alpha.kubernetes.io/pod";
  if (ann[seccompPod] !== oldAnn[seccompPod]) return true;
  const changed = (c: any, o: any) => {
    const key = `container.seccomp.security.alpha.kubernetes.io/${c?.name}`;
    return c?.image !== o?.image || ann[key] !== oldAnn[key];
  };
  for (const list of ["containers", "initContainers"]) {
    const now: any[] = pod.spec?.[list] ?? [];
    const before: any[] = old.spec?.[list] ?? [];
    if (now.length !== before.length) return true;
    if (now.some((c, i) => changed(c, before[i]))) return true;
  }
  const oldEphemeral: any[] = old.spec?.ephemeralContainers ?? [];
  for (const c of pod.spec?.ephemeralContainers ?? []) {
    const o = oldEphemeral.find((x) => x?.name === c?.name);
    if (!o || changed(c, o)) return true;
  }
  return false;
}

const at = (obj: any, path: string[]) => path.reduce((o, k) => (o == null ? undefined : o[k]), obj);

/** The PodSecurity plugin. */
export function podSecurity(readers: PodSecurityReaders, opts: PodSecurityOptions = {}): AdmissionPlugin {
  const defaults = defaultPolicy(opts.defaults);
  const exempt = {
    usernames: new Set(opts.exemptions?.usernames ?? []),
    namespaces: new Set(opts.exemptions?.namespaces ?? []),
    runtimeClasses: new Set(opts.exemptions?.runtimeClasses ?? []),
  };
  const maxPods = opts.maxPodsToCheck ?? 3000;

  const annotate = (a: AdmissionAttributes, key: string, value: string) => {
    const bag = (a as AdmissionAttributes & { auditAnnotations?: Record<string, string> }).auditAnnotations;
    if (bag) bag[key] = value;
    opts.onAuditAnnotation?.(a, key, value);
  };

  /** Whether the pod runs as a WebAssembly component: its RuntimeClass's handler is `wasm`. */
  const isWasm = async (spec: any): Promise<boolean> => {
    const rc = spec?.runtimeClassName;
    if (!rc) return false;
    const cls = await readers.runtimeClasses.get("", rc);
    return cls?.handler === "wasm";
  };

  const evaluate = async (lv: LevelVersion, metadata: any, spec: any) =>
    evaluatePod(lv, metadata, spec, { wasm: await isWasm(spec) });

  /** Upstream `EvaluatePod` over the three modes; `enforce` is false for pod templates. */
  const evaluateModes = async (
    a: AdmissionAttributes,
    policy: Policy,
    errors: string | null,
    metadata: any,
    spec: any,
    enforce: boolean,
  ) => {
    if (exempt.runtimeClasses.has(spec?.runtimeClassName)) {
      return annotate(a, EXEMPT_ANNOTATION, "runtimeClass");
    }
    if (errors) annotate(a, "error", `Failed to parse policy: ${errors}`);
    const results = new Map<string, ReturnType<typeof evaluatePod>>();
    const resultOf = async (lv: LevelVersion) => {
      const key = levelVersionString(lv);
      if (!results.has(key)) results.set(key, await evaluate(lv, metadata, spec));
      return results.get(key)!;
    };
    if (enforce) {
      annotate(a, ENFORCED_POLICY_ANNOTATION, levelVersionString(policy.enforce));
      const violations = await resultOf(policy.enforce);
      if (violations.length) {
        throw forbidden(
          { group: a.def.group, resource: a.def.plural },
          a.name,
          `violates PodSecurity "${levelVersionString(policy.enforce)}": ${forbiddenDetail(violations)}`,
        );
      }
    }
    const audit = await resultOf(policy.audit);
    if (audit.length) {
      annotate(
        a,
        AUDIT_VIOLATIONS_ANNOTATION,
        `would violate PodSecurity "${levelVersionString(policy.audit)}": ${forbiddenDetail(audit)}`,
      );
    }
    const warn = await resultOf(policy.warn);
    if (warn.length) {
      a.warnings?.push(
        `would violate PodSecurity "${levelVersionString(policy.warn)}": ${forbiddenDetail(warn)}`,
      );
    }
  };

  const namespacePolicy = async (a: AdmissionAttributes) => {
    const ns = await readers.namespaces.get("", a.namespace);
    const { policy, errors } = policyToEvaluate(ns?.metadata.labels, defaults);
    return {
      policy,
      errors: errors.length ? errors.map((e) => `${e.field}: ${e.message}`).join(", ") : null,
    };
  };

  /** Upstream `EvaluatePodsInNamespace`: warnings naming existing pods the new level refuses. */
  const checkExistingPods = async (namespace: string, enforce: LevelVersion): Promise<string[]> => {
    const pods = await readers.pods.list(namespace);
    const checked = pods.slice(0, maxPods);
    const byReason = new Map<string, { first: string; count: number }>();
    for (const pod of checked) {
      if (exempt.runtimeClasses.has(pod.spec?.runtimeClassName)) continue;
      const violations = await evaluate(enforce, pod.metadata, pod.spec);
      if (!violations.length) continue;
      const reason = forbiddenReason(violations);
      const seen = byReason.get(reason);
      const name = pod.metadata.name!;
      if (!seen) byReason.set(reason, { first: name, count: 1 });
      else byReason.set(reason, { first: name < seen.first ? name : seen.first, count: seen.count + 1 });
    }
    const warnings: string[] = [];
    if (checked.length < pods.length) {
      warnings.push(
        `new PodSecurity enforce level only checked against the first ${checked.length} of ${pods.length} existing pods`,
      );
    }
    if (byReason.size) {
      warnings.push(
        `existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${
          levelVersionString(enforce)
        }"`,
      );
    }
    const perPod = [...byReason].map(([reason, { first, count }]) => {
      if (count === 1) return `${first}: ${reason}`;
      return `${first} (and ${count - 1} other pod${count === 2 ? "" : "s"}): ${reason}`;
    });
    return [...warnings, ...perPod.sort()];
  };

  const validateNamespace = async (a: AdmissionAttributes) => {
    if (a.subresource || !a.object) return;
    const next = policyToEvaluate(a.object.metadata.labels, defaults);
    if (a.operation === "CREATE") {
      if (next.errors.length) throw invalid("Namespace", "", a.name, next.errors);
      return;
    }
    if (a.operation !== "UPDATE" || !a.oldObject) return;
    const prev = policyToEvaluate(a.oldObject.metadata.labels, defaults);
    if (
      next.errors.length &&
      (!prev.errors.length || JSON.stringify(next.errors) !== JSON.stringify(prev.errors))
    ) {
      throw invalid("Namespace", "", a.name, next.errors);
    }
    const [n, o] = [next.policy.enforce, prev.policy.enforce];
    if (sameLevelVersion(n, o) || n.level === "privileged") return;
    // The same version at a level no stricter than before cannot refuse an existing pod.
    if (versionString(n.version) === versionString(o.version) && compareLevels(n.level, o.level) < 1) return;
    if (exempt.namespaces.has(a.name)) return;
    a.warnings?.push(...await checkExistingPods(a.name, n));
  };

  return {
    name: "PodSecurity",
    async validate(a) {
      if (a.operation !== "CREATE" && a.operation !== "UPDATE") return;
      if (a.def.group === "" && a.def.plural === "namespaces") return await validateNamespace(a);
      const isPod = a.def.group === "" && a.def.plural === "pods";
      const templatePath = TEMPLATE_PATHS[a.def.group ? `${a.def.plural}.${a.def.group}` : a.def.plural];
      if (!isPod && !templatePath) return;
      if (!a.object || !a.namespace) return;
      if (isPod ? IGNORED_POD_SUBRESOURCES.has(a.subresource) : a.subresource) return;
      if (exempt.namespaces.has(a.namespace)) return annotate(a, EXEMPT_ANNOTATION, "namespace");
      if (exempt.usernames.has(a.user.username)) return annotate(a, EXEMPT_ANNOTATION, "user");
      const { policy, errors } = await namespacePolicy(a);
      if (isPod) {
        if (!errors && fullyPrivileged(policy)) return;
        if (a.operation === "UPDATE" && a.oldObject && !isSignificantPodUpdate(a.object, a.oldObject)) return;
        return await evaluateModes(a, policy, errors, a.object.metadata, a.object.spec, true);
      }
      if (!errors && policy.warn.level === "privileged" && policy.audit.level === "privileged") return;
      const template = at(a.object, templatePath);
      if (!template || (!template.metadata && !template.spec)) return;
      await evaluateModes(a, policy, errors, template.metadata ?? {}, template.spec ?? {}, false);
    },
  };
}
