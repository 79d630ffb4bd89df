/**
 * Pod and pod-template defaulting: upstream's `SetDefaults_PodSpec`, `SetDefaults_Container`,
 * volume and probe defaults (`pkg/apis/core/v1/defaults.go` plus the declarative `+default`
 * markers), `SetDefaults_Pod`, and what the pod strategy and default admission plugins add on
 * create (status, QoS class, service account, priority). The not-ready/unreachable tolerations
 * come from the DefaultTolerationSeconds admission step (admission/default_toleration_seconds.ts).
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceContext } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import {
  addQuantities,
  compareQuantities,
  defaultResourceList,
  parseQuantity,
  type Quantity,
} from "./quantity.ts";

type Obj = Record<string, any>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Upstream's image tag rule: no tag and no digest means `latest`. */
export function imageTag(image: string): string {
  let rest = image;
  const at = rest.indexOf("@");
  const hasDigest = at >= 0;
  if (hasDigest) rest = rest.slice(0, at);
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) return rest.slice(colon + 1);
  return hasDigest ? "" : "latest";
}

/** `Always` for `:latest` or untagged images, else `IfNotPresent`. */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  return imageTag(image ?? "") === "latest" ? "Always" : "IfNotPresent";
}

function defaultHTTPGet(action: unknown): void {
  if (!isObj(action)) return;
  action.path ??= "/";
  action.scheme ??= "HTTP";
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  probe.timeoutSeconds ||= 1;
  probe.periodSeconds ||= 10;
  probe.successThreshold ||= 1;
  probe.failureThreshold ||= 3;
  defaultHTTPGet(probe.httpGet);
}

function defaultFieldRef(source: unknown): void {
  if (!isObj(source)) return;
  if (isObj(source.fieldRef)) source.fieldRef.apiVersion ||= "v1";
  if (isObj(source.resourceFieldRef)) source.resourceFieldRef.divisor ??= "0";
}

/** `SetDefaults_Container` plus port, probe, lifecycle, env and resource-list defaults. */
export function defaultContainer(c: Obj): void {
  if (!isObj(c)) return;
  c.imagePullPolicy ||= defaultPullPolicy(c.image);
  c.terminationMessagePath ||= "/dev/termination-log";
  c.terminationMessagePolicy ||= "File";
  if (!isObj(c.resources)) c.resources = {};
  defaultResourceList(c.resources.limits);
  defaultResourceList(c.resources.requests);
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (isObj(p)) p.protocol ||= "TCP";
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) defaultProbe(probe);
  for (const hook of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (isObj(hook)) defaultHTTPGet(hook.httpGet);
  }
  for (const e of Array.isArray(c.env) ? c.env : []) if (isObj(e)) defaultFieldRef(e.valueFrom);
}

const VOLUME_MODE = 0o644;

/** `SetDefaults_Volume` and the per-source `defaultMode`/`type` defaults. */
export function defaultVolume(v: Obj): void {
  if (!isObj(v)) return;
  if (!Object.keys(v).some((k) => k !== "name" && v[k] != null)) v.emptyDir = {};
  if (isObj(v.secret)) v.secret.defaultMode ??= VOLUME_MODE;
  if (isObj(v.configMap)) v.configMap.defaultMode ??= VOLUME_MODE;
  if (isObj(v.downwardAPI)) {
    v.downwardAPI.defaultMode ??= VOLUME_MODE;
    for (const item of v.downwardAPI.items ?? []) defaultFieldRef(item);
  }
  if (isObj(v.hostPath)) v.hostPath.type ??= "";
  if (isObj(v.projected)) {
    v.projected.defaultMode ??= VOLUME_MODE;
    for (const s of v.projected.sources ?? []) {
      if (isObj(s?.serviceAccountToken)) s.serviceAccountToken.expirationSeconds ??= 3600;
      for (const item of s?.downwardAPI?.items ?? []) defaultFieldRef(item);
    }
  }
  if (isObj(v.ephemeral?.volumeClaimTemplate?.spec)) defaultPVCSpec(v.ephemeral.volumeClaimTemplate.spec);
}

/** `SetDefaults_PersistentVolumeClaimSpec`. */
export function defaultPVCSpec(spec: Obj): void {
  if (!isObj(spec)) return;
  spec.volumeMode ??= "Filesystem";
  defaultResourceList(spec.resources?.requests);
  defaultResourceList(spec.resources?.limits);
}

/** `SetDefaults_PodSpec` and everything nested in a pod spec. Used for pods and templates. */
export function defaultPodSpec(spec: Obj): void {
  if (!isObj(spec)) return;
  spec.dnsPolicy ||= "ClusterFirst";
  spec.restartPolicy ||= "Always";
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ||= "default-scheduler";
  // v1 <-> internal conversion keeps the deprecated serviceAccount field in step.
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const list of [spec.containers, spec.initContainers, spec.ephemeralContainers]) {
    for (const c of Array.isArray(list) ? list : []) defaultContainer(c);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) defaultVolume(v);
}

/** Defaults a `PodTemplateSpec` (template.spec) in place. */
export function defaultPodTemplate(template: unknown): void {
  if (isObj(template) && isObj(template.spec)) defaultPodSpec(template.spec);
}

const SYSTEM_PRIORITIES: Record<string, number> = {
  "system-cluster-critical": 2000000000,
  "system-node-critical": 2000001000,
};

/** `SetDefaults_Pod`: requests default to limits; service links on; host-network host ports. */
function setDefaultsPod(spec: Obj): void {
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (!isObj(c) || !isObj(c.resources?.limits)) continue;
    c.resources.requests ??= {};
    for (const [k, v] of Object.entries(c.resources.limits)) {
      if (!(k in c.resources.requests)) c.resources.requests[k] = v;
    }
  }
  spec.enableServiceLinks ??= true;
  if (spec.hostNetwork) {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const p of c?.ports ?? []) if (isObj(p) && !p.hostPort) p.hostPort = p.containerPort;
    }
  }
}

/** Upstream's `ComputePodQOS` over containers and init containers. */
export function podQOSClass(spec: Obj): "Guaranteed" | "Burstable" | "BestEffort" {
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  const zero = parseQuantity("0")!;
  const sum = (into: Map<string, Quantity>, name: string, q: Quantity) => {
    const prev = into.get(name);
    into.set(name, prev ? addQuantities(q, prev) : q);
  };
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    for (const [name, v] of Object.entries(c?.resources?.requests ?? {})) {
      const q = parseQuantity(v);
      if ((name === "cpu" || name === "memory") && q && compareQuantities(q, zero) > 0) {
        sum(requests, name, q);
      }
    }
    const found = new Set<string>();
    for (const [name, v] of Object.entries(c?.resources?.limits ?? {})) {
      const q = parseQuantity(v);
      if ((name === "cpu" || name === "memory") && q && compareQuantities(q, zero) > 0) {
        found.add(name);
        sum(limits, name, q);
      }
    }
    if (!found.has("cpu") || !found.has("memory")) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed) {
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (!lim || compareQuantities(lim, req) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}

/**
 * Defaults a Pod in place. On CREATE it also applies what upstream's pod strategy and default
 * admission plugins do: a fresh `status` (`phase: Pending`, `qosClass`, a `SchedulingGated`
 * condition when gated), `serviceAccountName: default` and `priority`/`preemptionPolicy`.
 */
export function defaultPod(obj: KubeObject, ctx: ResourceContext): void {
  if (!isObj(obj.spec)) obj.spec = {};
  const spec = obj.spec;
  defaultPodSpec(spec);
  setDefaultsPod(spec);
  if (ctx.operation !== "CREATE") return;
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount = "default";
  if (spec.priority === undefined) {
    const known = SYSTEM_PRIORITIES[spec.priorityClassName ?? ""];
    if (!spec.priorityClassName) spec.priority = 0;
    else if (known !== undefined) spec.priority = known;
  }
  spec.preemptionPolicy ??= "PreemptLowerPriority";
  const status: Obj = { phase: "Pending", qosClass: podQOSClass(spec) };
  if (Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0) {
    status.conditions = [{
      type: "PodScheduled",
      status: "False",
      reason: "SchedulingGated",
      message: "Scheduling is blocked due to non-empty scheduling gates",
    }];
  }
  obj.status = status;
}
