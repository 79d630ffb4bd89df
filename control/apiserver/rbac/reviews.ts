/**
 * The access reviews of authorization.k8s.io/v1 (upstream pkg/registry/authorization/*): create-only
 * kinds answered from the authorizer chain and never stored.
 *
 * - SelfSubjectAccessReview (`kubectl auth can-i`): may the caller do this?
 * - SubjectAccessReview / LocalSubjectAccessReview: may this user (and groups) do this?
 * - SelfSubjectRulesReview (`kubectl auth can-i --list`): what may the caller do in a namespace?
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { badRequest, fieldError, invalid, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { RequestContext, UserInfo } from "../context.ts";
import type { Strategy } from "../rest/strategy.ts";
import { type Attributes, attributes, type DecisionResult, type RulesResult } from "./types.ts";

export const AUTHORIZATION_GROUP = "authorization.k8s.io";

/** What the reviews ask of the authorizer chain. */
export interface ReviewDeps {
  decide(a: Attributes): Promise<DecisionResult>;
  rulesFor(user: UserInfo, namespace: string): RulesResult;
}

/** Whether `metadata` carries nothing but empty values (upstream: `must be empty`). */
function metadataEmpty(meta: Record<string, unknown>, allow: string[] = []): boolean {
  return Object.entries(meta).every(([k, v]) =>
    allow.includes(k) || v === null || v === undefined || v === "" ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0)
  );
}

/** `ValidateSelfSubjectAccessReviewSpec` (and the shared part of the other specs). Pure. */
export function validateAccessReviewSpec(spec: any): StatusCause[] {
  const errs: StatusCause[] = [];
  if (spec?.resourceAttributes && spec?.nonResourceAttributes) {
    errs.push(
      fieldError.invalid(
        "spec.nonResourceAttributes",
        spec.nonResourceAttributes,
        "cannot be specified in combination with resourceAttributes",
      ),
    );
  }
  if (!spec?.resourceAttributes && !spec?.nonResourceAttributes) {
    errs.push(
      fieldError.invalid(
        "spec.resourceAttributes",
        null,
        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
      ),
    );
  }
  return errs;
}

/** `ResourceAttributesFrom` / `NonResourceAttributesFrom`: the question a review spec asks. Pure. */
export function reviewAttributes(user: UserInfo, spec: any): Attributes {
  const r = spec?.resourceAttributes;
  if (r) {
    const s = (v: unknown) => (typeof v === "string" ? v : "");
    return attributes(user, {
      verb: s(r.verb),
      group: s(r.group),
      version: s(r.version) || "*",
      resource: s(r.resource),
      subresource: s(r.subresource),
      namespace: s(r.namespace),
      name: s(r.name),
      fieldSelector: s(r.fieldSelector?.rawSelector),
      labelSelector: s(r.labelSelector?.rawSelector),
    });
  }
  const n = spec?.nonResourceAttributes ?? {};
  return attributes(user, { resourceRequest: false, verb: String(n.verb ?? ""), path: String(n.path ?? "") });
}

/** `SubjectAccessReviewStatus` from a decision. */
export function reviewStatus(d: DecisionResult): Record<string, unknown> {
  const status: Record<string, unknown> = { allowed: d.decision === "allow" };
  if (d.decision === "deny") status.denied = true;
  if (d.reason) status.reason = d.reason;
  return status;
}

function respond(obj: KubeObject, status: Record<string, unknown>): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, creationTimestamp: null as unknown as string }, status };
}

function invalidReview(kind: string, causes: StatusCause[]) {
  return invalid(kind, AUTHORIZATION_GROUP, "", causes);
}

export function selfSubjectAccessReviewStrategy(deps: ReviewDeps): Strategy {
  return {
    async create(_server, ctx: RequestContext, obj) {
      const errs: StatusCause[] = [];
      if (!metadataEmpty(obj.metadata)) {
        errs.push(fieldError.invalid("metadata", obj.metadata, "must be empty"));
      }
      errs.push(...validateAccessReviewSpec(obj.spec));
      if (errs.length) throw invalidReview("SelfSubjectAccessReview", errs);
      return respond(obj, reviewStatus(await deps.decide(reviewAttributes(ctx.user, obj.spec))));
    },
  };
}

function subjectOf(spec: any): UserInfo {
  const extra = spec?.extra && typeof spec.extra === "object" ? spec.extra : undefined;
  return {
    username: typeof spec?.user === "string" ? spec.user : "",
    groups: Array.isArray(spec?.groups) ? spec.groups.filter((g: unknown) => typeof g === "string") : [],
    ...(typeof spec?.uid === "string" && spec.uid ? { uid: spec.uid } : {}),
    ...(extra ? { extra } : {}),
  };
}

function subjectErrors(spec: any): StatusCause[] {
  const errs = validateAccessReviewSpec(spec);
  if (!spec?.user && !(Array.isArray(spec?.groups) && spec.groups.length)) {
    errs.push(
      fieldError.invalid("spec.user", spec?.user ?? "", "at least one of user or group must be specified"),
    );
  }
  return errs;
}

export function subjectAccessReviewStrategy(deps: ReviewDeps): Strategy {
  return {
    async create(_server, _ctx, obj) {
      const errs: StatusCause[] = [];
      if (!metadataEmpty(obj.metadata)) {
        errs.push(fieldError.invalid("metadata", obj.metadata, "must be empty"));
      }
      errs.push(...subjectErrors(obj.spec));
      if (errs.length) throw invalidReview("SubjectAccessReview", errs);
      return respond(obj, reviewStatus(await deps.decide(reviewAttributes(subjectOf(obj.spec), obj.spec))));
    },
  };
}

export function localSubjectAccessReviewStrategy(deps: ReviewDeps): Strategy {
  return {
    async create(_server, ctx, obj) {
      const namespace = ctx.info.namespace;
      if (!namespace) throw badRequest(`namespace is required on this type: ${namespace}`);
      const errs: StatusCause[] = [];
      if (!metadataEmpty(obj.metadata, ["namespace"])) {
        errs.push(fieldError.invalid("metadata", obj.metadata, "must be empty except for namespace"));
      }
      errs.push(...subjectErrors(obj.spec));
      if (obj.spec?.nonResourceAttributes) {
        errs.push(
          fieldError.invalid(
            "spec.nonResourceAttributes",
            obj.spec.nonResourceAttributes,
            "disallowed on this kind of request",
          ),
        );
      }
      if (errs.length) throw invalidReview("LocalSubjectAccessReview", errs);
      const ns = obj.spec.resourceAttributes?.namespace ?? "";
      if (ns !== namespace) {
        throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
      }
      return respond(obj, reviewStatus(await deps.decide(reviewAttributes(subjectOf(obj.spec), obj.spec))));
    },
  };
}

/** The SelfSubjectRulesReview status from a rules listing. Pure. */
export function rulesReviewStatus(r: RulesResult): Record<string, unknown> {
  const resourceRules: unknown[] = [];
  const nonResourceRules: unknown[] = [];
  for (const rule of r.rules) {
    if (rule.resources?.length) {
      const out: Record<string, unknown> = {
        verbs: rule.verbs,
        apiGroups: rule.apiGroups ?? [],
        resources: rule.resources,
      };
      if (rule.resourceNames?.length) out.resourceNames = rule.resourceNames;
      resourceRules.push(out);
    }
    if (rule.nonResourceURLs?.length) {
      nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs });
    }
  }
  const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: r.incomplete };
  if (r.errors.length) {
    status.evaluationError = r.errors.length === 1 ? r.errors[0] : `[${r.errors.join(", ")}]`;
  }
  return status;
}

export function selfSubjectRulesReviewStrategy(deps: ReviewDeps): Strategy {
  return {
    create(_server, ctx, obj) {
      const namespace = obj.spec?.namespace;
      if (typeof namespace !== "string" || !namespace) throw badRequest("no namespace on request");
      return Promise.resolve(respond(obj, rulesReviewStatus(deps.rulesFor(ctx.user, namespace))));
    },
  };
}

/** The strategies to register with `server.setStrategy`, by storage key. */
export function reviewStrategies(deps: ReviewDeps): Record<string, Strategy> {
  return {
    [`selfsubjectaccessreviews.${AUTHORIZATION_GROUP}`]: selfSubjectAccessReviewStrategy(deps),
    [`subjectaccessreviews.${AUTHORIZATION_GROUP}`]: subjectAccessReviewStrategy(deps),
    [`localsubjectaccessreviews.${AUTHORIZATION_GROUP}`]: localSubjectAccessReviewStrategy(deps),
    [`selfsubjectrulesreviews.${AUTHORIZATION_GROUP}`]: selfSubjectRulesReviewStrategy(deps),
  };
}

/**
 * Review strategies for a server running without RBAC (`allowAll`): every review answers allowed,
 * and the rules review lists `*` on everything, as upstream's AlwaysAllow authorizer does.
 */
export function allowAllReviewStrategies(): Record<string, Strategy> {
  return reviewStrategies({
    decide: () => Promise.resolve({ decision: "allow", reason: "" }),
    rulesFor: () => ({
      rules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, { verbs: ["*"], nonResourceURLs: ["*"] }],
      incomplete: false,
      errors: [],
    }),
  });
}
