/**
 * The RBAC authorizer (upstream plugin/pkg/auth/authorizer/rbac/rbac.go): a request is allowed when
 * a ClusterRoleBinding, or a RoleBinding in the request's namespace, names the caller (user, group
 * or ServiceAccount) and its role has a rule that allows it. RBAC never denies outright: without a
 * matching rule it has no opinion, and its reason lists the role references it could not resolve.
 * Synchronous and pure over the {@link RbacCache}.
 *
 * @example
 * ```ts
 * const rbac = new RbacAuthorizer(cache);
 * rbac.authorize(attributes(alice, { verb: "list", resource: "pods", namespace: "team-a" }));
 * // { decision: "allow", reason: "" }
 * ```
 * @module
 */
import type { UserInfo } from "../context.ts";
import type { IndexedBinding, RbacCache } from "./rbac_cache.ts";
import { ruleAllows, subjectApplies, subjectsOf, userKeys } from "./rules.ts";
import type { Attributes, DecisionResult, PolicyRule, RulesResult } from "./types.ts";

/** `utilerrors.NewAggregate(errs).Error()`: one message, or `[a, b]`. */
export function aggregateErrors(errors: readonly string[]): string {
  return errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`;
}

/** Decisions remembered per cache generation (a client repeats the same few requests). */
const MEMO_MAX = 4096;

/**
 * Everything an RBAC decision depends on: the user's name and groups (length-prefixed, so no name
 * can imitate another split) and the request's attributes.
 */
function memoKey(a: Attributes): string {
  let who = `${a.user.username.length}:${a.user.username}`;
  for (const g of a.user.groups) who += `|${g.length}:${g}`;
  return a.resourceRequest
    ? `r ${who} ${JSON.stringify([a.verb, a.group, a.resource, a.subresource, a.namespace, a.name])}`
    : `n ${who} ${JSON.stringify([a.verb, a.path])}`;
}

export class RbacAuthorizer {
  readonly #cache: RbacCache;
  #memo = new Map<string, DecisionResult>();
  #memoGeneration = -1;

  constructor(cache: RbacCache) {
    this.#cache = cache;
  }

  /**
   * Calls `visit` with the rules of every binding that applies to `user` in `namespace` (cluster
   * bindings first); stops when `visit` returns false. Returns the role references that failed.
   */
  visitRulesFor(
    user: UserInfo,
    namespace: string,
    visit: (rules: readonly PolicyRule[], binding: IndexedBinding) => boolean,
  ): string[] {
    const errors: string[] = [];
    const keys = userKeys(user);
    const scopes: [IndexedBinding[], string][] = [[this.#cache.clusterRoleBindings.matching("", keys), ""]];
    if (namespace) scopes.push([this.#cache.roleBindings.matching(namespace, keys), namespace]);
    for (const [bindings, ns] of scopes) {
      for (const b of bindings) {
        // The index is a pre-filter; confirm as upstream's appliesTo does.
        if (!subjectsOf(b.object).some((s) => subjectApplies(user, s, ns))) continue;
        const { rules, error } = this.#cache.roleRefRules(b.roleRef, ns);
        if (error) {
          errors.push(error);
          continue;
        }
        if (!visit(rules, b)) return errors;
      }
    }
    return errors;
  }

  /**
   * Allow when some bound rule allows the request; otherwise no opinion. Decisions are memoized
   * until the cache changes (any role or binding written clears them).
   */
  authorize(a: Attributes): DecisionResult {
    if (this.#memoGeneration !== this.#cache.generation || this.#memo.size >= MEMO_MAX) {
      this.#memo.clear();
      this.#memoGeneration = this.#cache.generation;
    }
    const key = memoKey(a);
    let d = this.#memo.get(key);
    if (!d) {
      d = this.#decide(a);
      this.#memo.set(key, d);
    }
    return d;
  }

  #decide(a: Attributes): DecisionResult {
    let allowed = false;
    const errors = this.visitRulesFor(a.user, a.namespace, (rules) => {
      for (const r of rules) {
        if (ruleAllows(a, r)) {
          allowed = true;
          return false;
        }
      }
      return true;
    });
    if (allowed) return { decision: "allow", reason: "" };
    return { decision: "noOpinion", reason: errors.length ? `RBAC: ${aggregateErrors(errors)}` : "" };
  }

  /** `RulesFor`: every rule bound to `user` in `namespace` (cluster-wide ones included). */
  rulesFor(user: UserInfo, namespace: string): RulesResult {
    const rules: PolicyRule[] = [];
    const errors = this.visitRulesFor(user, namespace, (r) => {
      rules.push(...r);
      return true;
    });
    return { rules, incomplete: false, errors };
  }
}
