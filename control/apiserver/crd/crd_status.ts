/**
 * The status the API server writes for a CRD, in one pure step standing in for upstream's naming,
 * establishing and API-approval controllers: `acceptedNames`, the `NamesAccepted`, `Established`
 * (and, for `*.k8s.io` groups, `KubernetesAPIApprovalPolicyConformant`) conditions, and
 * `storedVersions`.
 *
 * @example
 * ```ts
 * crd.status = crdConditions(crd, otherCrds, Date.now());
 * // conditions: NamesAccepted True NoConflicts, Established True InitialNamesAccepted
 * ```
 * @module
 */
import { deepEqual } from "../../api/types.ts";
import { approvalState, isProtectedGroup } from "./approval.ts";
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionCondition,
  CustomResourceDefinitionNames,
  CustomResourceDefinitionStatus,
} from "./types.ts";

/** `status.storedVersions` after a write: the previous list plus the current storage version. */
export function storedVersions(crd: CustomResourceDefinition, old?: CustomResourceDefinition): string[] {
  const stored = [...((old ? old.status?.storedVersions : undefined) ?? [])];
  const storage = (crd.spec?.versions ?? []).find((v) => v.storage);
  if (storage?.name && !stored.includes(storage.name)) stored.push(storage.name);
  return stored;
}

/** A Kubernetes `metav1.Time`: RFC 3339 in UTC, whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Names without empty lists, so `[]` and absent compare equal (as upstream's semantic equality). */
function normalize(n: CustomResourceDefinitionNames | undefined): CustomResourceDefinitionNames {
  const out: CustomResourceDefinitionNames = { ...(n ?? {}) };
  if (!out.shortNames?.length) delete out.shortNames;
  if (!out.categories?.length) delete out.categories;
  for (const k of ["plural", "singular", "kind", "listKind"] as const) if (!out[k]) delete out[k];
  return out;
}

function inUse(
  requested: string | undefined,
  accepted: string | undefined,
  used: Set<string>,
): string | undefined {
  if ((requested ?? "") === (accepted ?? "")) return undefined;
  return used.has(requested ?? "") ? `${JSON.stringify(requested ?? "")} is already in use` : undefined;
}

interface Naming {
  names: CustomResourceDefinitionNames;
  condition: CustomResourceDefinitionCondition;
}

/** `calculateNamesAndConditions` of upstream's naming controller. */
function calculateNames(crd: CustomResourceDefinition, others: CustomResourceDefinition[]): Naming {
  const group = crd.spec?.group;
  const resources = new Set<string>();
  const kinds = new Set<string>();
  for (const o of [crd, ...others.filter((o) => o.metadata?.name !== crd.metadata?.name)]) {
    if (o.spec?.group !== group) continue;
    const a = o.status?.acceptedNames ?? {};
    for (const n of [a.plural, a.singular, ...(a.shortNames ?? [])]) resources.add(n ?? "");
    kinds.add(a.kind ?? "");
    kinds.add(a.listKind ?? "");
  }
  const requested = crd.spec?.names ?? {};
  const accepted = crd.status?.acceptedNames ?? {};
  const names: CustomResourceDefinitionNames = { ...accepted };
  let condition: CustomResourceDefinitionCondition = { type: "NamesAccepted", status: "Unknown" };
  const conflict = (reason: string, message: string) => {
    condition = { type: "NamesAccepted", status: "False", reason, message };
  };
  const check = (field: "plural" | "singular" | "kind" | "listKind", reason: string, used: Set<string>) => {
    const err = inUse(requested[field], accepted[field], used);
    if (err) conflict(reason, err);
    else names[field] = requested[field];
  };
  check("plural", "PluralConflict", resources);
  check("singular", "SingularConflict", resources);
  if (!deepEqual(requested.shortNames ?? [], accepted.shortNames ?? [])) {
    const existing = new Set(accepted.shortNames ?? []);
    const errs = (requested.shortNames ?? []).filter((s) => !existing.has(s)).flatMap((s) =>
      inUse(s, "", resources) ?? []
    );
    if (errs.length) conflict("ShortNamesConflict", errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`);
    else names.shortNames = requested.shortNames;
  }
  check("kind", "KindConflict", kinds);
  check("listKind", "ListKindConflict", kinds);
  names.categories = requested.categories;
  if (condition.status === "Unknown") {
    condition = {
      type: "NamesAccepted",
      status: "True",
      reason: "NoConflicts",
      message: "no conflicts found",
    };
  }
  return { names: normalize(names), condition };
}

/** `SetCRDCondition`: update in place (keeping the transition time if the status is unchanged) or append. */
function setCondition(
  conditions: CustomResourceDefinitionCondition[],
  next: CustomResourceDefinitionCondition,
  now: number,
): CustomResourceDefinitionCondition[] {
  const i = conditions.findIndex((c) => c.type === next.type);
  if (i < 0) return [...conditions, { ...next, lastTransitionTime: rfc3339(now) }];
  const old = conditions[i];
  const time = old.status !== next.status || !old.lastTransitionTime ? rfc3339(now) : old.lastTransitionTime;
  const out = [...conditions];
  out[i] = {
    type: next.type,
    status: next.status,
    lastTransitionTime: time,
    reason: next.reason,
    message: next.message,
  };
  return out;
}

function find(conditions: CustomResourceDefinitionCondition[], type: string) {
  return conditions.find((c) => c.type === type);
}

/** The API-approval condition of a protected group, as upstream's apiapproval controller sets it. */
function approvalCondition(crd: CustomResourceDefinition): CustomResourceDefinitionCondition | undefined {
  if (!isProtectedGroup(crd.spec?.group ?? "")) return undefined;
  const { state, reason } = approvalState(crd.metadata?.annotations);
  const type = "KubernetesAPIApprovalPolicyConformant";
  switch (state) {
    case "Approved":
      return { type, status: "True", reason: "ApprovedAnnotation", message: reason };
    case "Bypassed":
      return { type, status: "False", reason: "UnapprovedAnnotation", message: reason };
    case "Missing":
      return { type, status: "False", reason: "MissingAnnotation", message: reason };
    default:
      return { type, status: "False", reason: "InvalidAnnotation", message: reason };
  }
}

/**
 * The status of `crd` after a create or update. `crd.status` must be the previously stored status
 * (empty on create: the server discards client-sent status, as upstream does); `others` are the
 * other stored CRDs (any group; only those of the same group matter); `now` is in milliseconds.
 */
export function crdConditions(
  crd: CustomResourceDefinition,
  others: CustomResourceDefinition[],
  now: number,
): CustomResourceDefinitionStatus {
  const prev = crd.status ?? {};
  let conditions = [...(prev.conditions ?? [])];
  let acceptedNames = normalize(prev.acceptedNames);

  if (!deepEqual(normalize(crd.spec?.names), acceptedNames) || !find(conditions, "NamesAccepted")) {
    const naming = calculateNames(crd, others);
    acceptedNames = naming.names;
    let established: CustomResourceDefinitionCondition = find(conditions, "Established") ??
      { type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted" };
    if (established.status !== "True" && naming.condition.status === "True") {
      established = {
        type: "Established",
        status: "False",
        reason: "Installing",
        message: "the initial names have been accepted",
      };
    }
    conditions = setCondition(conditions, naming.condition, now);
    conditions = setCondition(conditions, established, now);
  }
  const namesAccepted = find(conditions, "NamesAccepted")?.status === "True";
  if (namesAccepted && find(conditions, "Established")?.status !== "True") {
    conditions = setCondition(conditions, {
      type: "Established",
      status: "True",
      reason: "InitialNamesAccepted",
      message: "the initial names have been accepted",
    }, now);
  }
  const approval = approvalCondition(crd);
  if (approval) conditions = setCondition(conditions, approval, now);

  return { conditions, acceptedNames, storedVersions: storedVersions(crd, { ...crd, status: prev }) };
}

/** Whether the CRD's resources are served: `Established` is True. */
export function isEstablished(crd: CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True");
}
