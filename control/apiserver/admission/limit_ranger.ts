/**
 * The LimitRanger admission step (upstream `plugin/pkg/admission/limitranger`): the LimitRanges
 * of a pod's namespace give its containers default requests and limits (mutating phase, noted in
 * the `kubernetes.io/limit-ranger` annotation), then bound them by min, max and
 * maxLimitRequestRatio per Container and per Pod (validating phase); PVC storage requests are
 * bounded by `PersistentVolumeClaim` items. Refusals are upstream's 403 with its texts:
 * `pods "web" is forbidden: maximum cpu usage per Container is 1, but limit is 2`.
 *
 * Pods are only checked on create (their resources are immutable), as upstream.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { forbidden } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { podResources } from "../../controllers/resourcequota/usage.ts";
import { podQOSClass } from "../registry/pod_defaults.ts";
import { compareQuantities, formatQuantity, parseQuantity, type Quantity } from "../registry/quantity.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "../context.ts";
import type { ObjectReader } from "./lookup.ts";
import { admissionName } from "./resource_quota.ts";

type Obj = Record<string, any>;
type QList = Record<string, Quantity>;

const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";

const qlist = (list: Obj | undefined): QList => {
  const out: QList = {};
  for (const [k, v] of Object.entries(list ?? {})) {
    const q = parseQuantity(v);
    if (q) out[k] = q;
  }
  return out;
};
const str = (q: Quantity) => formatQuantity(q);
const sorted = (list: Obj | undefined) => Object.keys(list ?? {}).sort();

/** Upstream `defaultContainerResourceRequirements`: later Container items win. */
function containerDefaults(limitRange: KubeObject): { requests: Obj; limits: Obj } {
  const requests: Obj = {};
  const limits: Obj = {};
  for (const item of limitRange.spec?.limits ?? []) {
    if (item?.type !== "Container") continue;
    Object.assign(requests, item.defaultRequest ?? {});
    Object.assign(limits, item.default ?? {});
  }
  return { requests, limits };
}

/**
 * Upstream `PodMutateLimitFunc`: fills missing requests and limits of every container and init
 * container from the LimitRange's defaults and records what it set in the annotation. Pure (on `pod`).
 */
export function applyLimitRangeDefaults(limitRange: KubeObject, pod: KubeObject): void {
  const defaults = containerDefaults(limitRange);
  const notes: string[] = [];
  const merge = (c: Obj, prefix: string) => {
    if (!c || typeof c !== "object") return;
    c.resources ??= {};
    c.resources.limits ??= {};
    c.resources.requests ??= {};
    const setLimits = Object.keys(defaults.limits).filter((k) => !(k in c.resources.limits));
    const setRequests = Object.keys(defaults.requests).filter((k) => !(k in c.resources.requests));
    for (const k of setLimits) c.resources.limits[k] = defaults.limits[k];
    for (const k of setRequests) c.resources.requests[k] = defaults.requests[k];
    if (setRequests.length) notes.push(`${setRequests.sort().join(", ")} request for ${prefix} ${c.name}`);
    if (setLimits.length) notes.push(`${setLimits.sort().join(", ")} limit for ${prefix} ${c.name}`);
  };
  for (const c of pod.spec?.containers ?? []) merge(c, "container");
  for (const c of pod.spec?.initContainers ?? []) merge(c, "init container");
  if (notes.length) {
    pod.metadata.annotations = {
      ...pod.metadata.annotations,
      [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}`,
    };
  }
}

function minConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: QList,
  limits: QList,
): string | null {
  const req = requests[name];
  const lim = limits[name];
  if (!req) return `minimum ${name} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (compareQuantities(req, enforced) < 0) {
    return `minimum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  }
  if (lim && compareQuantities(lim, enforced) < 0) {
    return `minimum ${name} usage per ${type} is ${str(enforced)}, but limit is ${str(lim)}`;
  }
  return null;
}

function maxConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: QList,
  limits: QList,
): string | null {
  const req = requests[name];
  const lim = limits[name];
  if (!lim) return `maximum ${name} usage per ${type} is ${str(enforced)}.  No limit is specified`;
  if (compareQuantities(lim, enforced) > 0) {
    return `maximum ${name} usage per ${type} is ${str(enforced)}, but limit is ${str(lim)}`;
  }
  if (req && compareQuantities(req, enforced) > 0) {
    return `maximum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  }
  return null;
}

function maxRequestConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: QList,
): string | null {
  const req = requests[name];
  if (!req) return `maximum ${name} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (compareQuantities(req, enforced) > 0) {
    return `maximum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  }
  return null;
}

const toNumber = (q: Quantity) => Number(q.mantissa) * 10 ** q.exponent;

function ratioConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: QList,
  limits: QList,
): string | null {
  const req = requests[name];
  const lim = limits[name];
  const e = str(enforced);
  if (!req || req.mantissa === 0n) {
    return `${name} max limit to request ratio per ${type} is ${e}, but no request is specified or request is 0`;
  }
  if (!lim || lim.mantissa === 0n) {
    return `${name} max limit to request ratio per ${type} is ${e}, but no limit is specified or limit is 0`;
  }
  const observed = toNumber(lim) / toNumber(req);
  if (observed > toNumber(enforced)) {
    return `${name} max limit to request ratio per ${type} is ${e}, but provided ratio is ${
      observed.toFixed(6)
    }`;
  }
  return null;
}

/** Runs min, max and ratio of one item against one requests/limits pair. */
function checkItem(item: Obj, requests: QList, limits: QList, errs: string[]): void {
  const type = item.type;
  const each = (list: Obj | undefined, fn: (n: string, q: Quantity) => string | null) => {
    for (const name of sorted(list)) {
      const q = parseQuantity(list![name]);
      const err = q && fn(name, q);
      if (err) errs.push(err);
    }
  };
  each(item.min, (n, q) => minConstraint(type, n, q, requests, limits));
  each(item.max, (n, q) => maxConstraint(type, n, q, requests, limits));
  each(item.maxLimitRequestRatio, (n, q) => ratioConstraint(type, n, q, requests, limits));
}

/** Upstream `PodValidateLimitFunc`: the violations of one LimitRange by a pod. Pure. */
export function podLimitViolations(limitRange: KubeObject, pod: KubeObject): string[] {
  const errs: string[] = [];
  for (const item of limitRange.spec?.limits ?? []) {
    if (item?.type === "Container") {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        checkItem(item, qlist(c?.resources?.requests), qlist(c?.resources?.limits), errs);
      }
    } else if (item?.type === "Pod") {
      checkItem(item, podResources(pod.spec, "requests"), podResources(pod.spec, "limits"), errs);
    }
  }
  return errs;
}

/** Upstream `PersistentVolumeClaimValidateLimitFunc`: storage requests within min and max. Pure. */
export function pvcLimitViolations(limitRange: KubeObject, pvc: KubeObject): string[] {
  const errs: string[] = [];
  const requests = qlist(pvc.spec?.resources?.requests);
  for (const item of limitRange.spec?.limits ?? []) {
    if (item?.type !== "PersistentVolumeClaim") continue;
    for (const name of sorted(item.min)) {
      const q = parseQuantity(item.min[name]);
      const err = q && minConstraint(item.type, name, q, requests, {});
      if (err) errs.push(err);
    }
    for (const name of sorted(item.max)) {
      const q = parseQuantity(item.max[name]);
      const err = q && maxRequestConstraint(item.type, name, q, requests);
      if (err) errs.push(err);
    }
  }
  return errs;
}

/** Upstream `utilerrors.NewAggregate(...).Error()`: one message, or `[a, b]` without duplicates. */
export function aggregate(errs: string[]): string {
  const unique = [...new Set(errs)];
  return unique.length === 1 ? unique[0] : `[${unique.join(", ")}]`;
}

const isPod = (a: AdmissionAttributes) => a.def.group === "" && a.def.plural === "pods";
const isPVC = (a: AdmissionAttributes) => a.def.group === "" && a.def.plural === "persistentvolumeclaims";

/** Upstream `SupportsAttributes`: pods on create, PVCs on create and update, no subresources. */
function supports(a: AdmissionAttributes): boolean {
  if (a.subresource || !a.object) return false;
  if (a.oldObject?.metadata?.deletionTimestamp) return false;
  if (isPod(a)) return a.operation === "CREATE";
  return isPVC(a) && (a.operation === "CREATE" || a.operation === "UPDATE");
}

/** The LimitRanger plugin, reading LimitRanges through `limitRanges`. */
export function limitRanger(limitRanges: ObjectReader): AdmissionPlugin {
  return {
    name: "LimitRanger",
    async admit(a) {
      if (!supports(a) || !isPod(a)) return;
      const ranges = await limitRanges.list(a.namespace);
      if (!ranges.length) return;
      for (const lr of ranges) applyLimitRangeDefaults(lr, a.object!);
      // Skiff computes the QoS class while defaulting, before admission: refresh it.
      if (a.object!.status) a.object!.status.qosClass = podQOSClass(a.object!.spec);
    },
    async validate(a) {
      if (!supports(a)) return;
      for (const lr of await limitRanges.list(a.namespace)) {
        const errs = isPod(a) ? podLimitViolations(lr, a.object!) : pvcLimitViolations(lr, a.object!);
        if (errs.length) {
          throw forbidden({ group: "", resource: a.def.plural }, admissionName(a), aggregate(errs));
        }
      }
    },
  };
}
