/**
 * The ResourceQuota admission step (upstream
 * `staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota`): a write that would push a
 * quota's `status.used` past its `status.hard` is refused with upstream's 403
 * `exceeded quota: <name>, requested: ..., used: ..., limited: ...`; otherwise the usage is
 * charged to every matching quota BEFORE the object is stored.
 *
 * Exactness under concurrency: charges to one namespace are serialized in this process (as
 * upstream's per-namespace work queue), and each charge is a read-modify-write of the quota with
 * optimistic concurrency (`Store.update` re-checks the limit on the version it commits over), so
 * concurrent writers from other API server replicas cannot both take the last unit. A charge whose
 * object then fails to be stored stays until the quota controller recalculates `status.used`
 * (upstream behaves the same).
 *
 * A quota is enforced once the quota controller has filled `status.hard` (upstream: until then the
 * quota matches nothing).
 * @module
 */
import { forbidden, isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import {
  add,
  lessThanOrEqual,
  mask,
  negativeNames,
  prettyPrint,
  removeZeros,
  type ResourceList,
  subtractNonNegative,
} from "../../controllers/resourcequota/resource_list.ts";
import { type Evaluator, evaluatorFor } from "../../controllers/resourcequota/usage.ts";
import type { Store, StoreResource } from "../../store/mod.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "../context.ts";
import { listCurrent, type ObjectReader } from "./lookup.ts";

/** What a request asks of the quotas of its namespace. */
export interface QuotaRequest {
  operation: string;
  group: string;
  resource: string;
  object: KubeObject;
  oldObject?: KubeObject | null;
}

/** One quota to charge: its name and the usage added to `status.used`. */
export interface Charge {
  quota: string;
  requested: ResourceList;
}

/** Either the charges to make, or upstream's refusal text (without the `... is forbidden:` part). */
export type QuotaDecision = { charges: Charge[] } | { error: string };

const hardOf = (q: KubeObject): ResourceList => q.status?.hard ?? {};
const usedOf = (q: KubeObject): ResourceList => q.status?.used ?? {};

/** Upstream `hasUsageStats`: every restricted hard name has a used value. */
function hasUsageStats(quota: KubeObject, restricted: readonly string[]): boolean {
  return restricted.every((n) => !(n in hardOf(quota)) || n in usedOf(quota));
}

/** The usage `requested` adds to `quota`, or the exceeded-quota text (upstream `CheckRequest`'s last step). */
export function chargeQuota(quota: KubeObject, requested: ResourceList): ResourceList | string {
  const hard = hardOf(quota);
  const used = usedOf(quota);
  const masked = mask(requested, Object.keys(hard));
  const next = add(used, masked);
  const [ok, exceeded] = lessThanOrEqual(mask(next, Object.keys(masked)), hard);
  if (!ok) {
    return `exceeded quota: ${quota.metadata.name}, requested: ${prettyPrint(mask(masked, exceeded))}, ` +
      `used: ${prettyPrint(mask(used, exceeded))}, limited: ${prettyPrint(mask(hard, exceeded))}`;
  }
  return next;
}

/**
 * Upstream `CheckRequest`, pure: which quotas `req` is charged to and by how much, or why it is
 * refused. `now` decides whether a terminating pod still counts.
 */
export function checkRequest(quotas: readonly KubeObject[], req: QuotaRequest, now: number): QuotaDecision {
  const ev: Evaluator = evaluatorFor({ group: req.group, resource: req.resource });
  if (!ev.handles(req.operation)) return { charges: [] };
  const interesting: KubeObject[] = [];
  for (const quota of quotas) {
    if (!ev.matchesScopes(quota, req.object)) continue;
    const restricted = ev.matchingResources(Object.keys(hardOf(quota)));
    if (!restricted.length) continue;
    const constraint = ev.constraints(restricted, req.object);
    if (constraint) return { error: `failed quota: ${quota.metadata.name}: ${constraint}` };
    if (!hasUsageStats(quota, restricted)) {
      return {
        error: `status unknown for quota: ${quota.metadata.name}, resources: ${
          [...restricted].sort().join(",")
        }`,
      };
    }
    interesting.push(quota);
  }
  if (!interesting.length) return { charges: [] };
  const input = ev.usage(req.object, now);
  const negative = negativeNames(input);
  if (negative.length) return { error: `quota usage is negative for resource(s): ${negative.join(",")}` };
  const charges: Charge[] = [];
  for (const quota of interesting) {
    let delta = input;
    const old = req.operation === "UPDATE" ? req.oldObject : null;
    if (old?.metadata?.resourceVersion && ev.matchesScopes(quota, old)) {
      delta = subtractNonNegative(input, ev.usage(old, now));
    }
    const requested = removeZeros(mask(delta, Object.keys(hardOf(quota))));
    if (!Object.keys(requested).length) continue;
    const next = chargeQuota(quota, requested);
    if (typeof next === "string") return { error: next };
    charges.push({ quota: quota.metadata.name!, requested });
  }
  return { charges };
}

/** Upstream `admission.NewForbidden`'s name: the object's name, its generateName, or `Unknown`. */
export function admissionName(a: AdmissionAttributes): string {
  return a.name || a.object?.metadata?.name || a.object?.metadata?.generateName || "Unknown";
}

/** Options of {@linkcode resourceQuota}. */
export interface ResourceQuotaOptions {
  now?: () => number;
  /** Tells whether a namespace has quotas at all (default: fresh store reads). */
  quotas?: ObjectReader;
}

/**
 * The ResourceQuota admission plugin over `store` (`quotas` is the storage of `resourcequotas`).
 * Runs in the validating phase, last among the built-in steps, as upstream orders it.
 */
export function resourceQuota(
  store: Store,
  quotas: StoreResource,
  opts: ResourceQuotaOptions = {},
): AdmissionPlugin {
  const now = opts.now ?? Date.now;
  const quotaIndex = opts.quotas ?? { list: (ns: string) => listCurrent(store, quotas, ns) };
  // Per-namespace chain of charges in this process.
  const tails = new Map<string, Promise<unknown>>();
  const serialize = <T>(ns: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(ns) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    tails.set(ns, tail);
    tail.then(() => {
      if (tails.get(ns) === tail) tails.delete(ns);
    });
    return run;
  };

  const charge = async (
    ns: string,
    charges: Charge[],
    gr: { group: string; resource: string },
    name: string,
  ) => {
    const done: Charge[] = [];
    try {
      for (const c of charges) {
        try {
          await store.update(quotas, ns, c.quota, (cur) => {
            const next = chargeQuota(cur, c.requested);
            if (typeof next === "string") throw forbidden(gr, name, next);
            cur.status = { ...cur.status, used: next };
            return cur;
          });
          done.push(c);
        } catch (e) {
          if (!isApiError(e, 404)) throw e; // the quota was deleted meanwhile
        }
      }
    } catch (e) {
      // Another replica took the room meanwhile: give back what this request already charged.
      await Promise.allSettled(done.map((c) => release(ns, c)));
      throw e;
    }
  };
  const release = (ns: string, c: Charge) =>
    store.update(quotas, ns, c.quota, (cur) => {
      const used = usedOf(cur);
      cur.status = { ...cur.status, used: mask(subtractNonNegative(used, c.requested), Object.keys(used)) };
      return cur;
    });

  return {
    name: "ResourceQuota",
    async validate(a) {
      if (a.subresource || !a.def.namespaced || !a.namespace || !a.object) return;
      if (a.operation !== "CREATE" && a.operation !== "UPDATE") return;
      const gr = { group: a.def.group, resource: a.def.plural };
      if (!evaluatorFor(gr).handles(a.operation)) return;
      // Ignore objects being deleted (a finalizer update must not be refused for quota).
      if (a.oldObject?.metadata?.deletionTimestamp) return;
      // A quota is enforced only once the controller filled its status, long after the cache has it.
      if (!(await quotaIndex.list(a.namespace)).length) return;
      await serialize(a.namespace, async () => {
        const current = await listCurrent(store, quotas, a.namespace);
        const decision = checkRequest(current, {
          operation: a.operation,
          group: gr.group,
          resource: gr.resource,
          object: a.object!,
          oldObject: a.oldObject,
        }, now());
        if ("error" in decision) throw forbidden(gr, admissionName(a), decision.error);
        if (a.dryRun || !decision.charges.length) return;
        await charge(a.namespace, decision.charges, gr, admissionName(a));
      });
    },
  };
}
