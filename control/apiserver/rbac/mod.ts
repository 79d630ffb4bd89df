/**
 * Authorization for the API server, as kube-apiserver's `--authorization-mode=Node,RBAC`: a union
 * of the `system:masters` group (always allowed), the node authorizer and RBAC, over in-memory
 * caches fed by watches. It also brings the RBAC escalation check and NodeRestriction (admission),
 * the access reviews (strategies), and the default roles (bootstrapped at start).
 *
 * @example
 * ```ts
 * const authz = new RbacAuthorization();
 * const cp = await startControlPlane({ kvPath, port: 0, authenticator, authorizer: authz, admission: authz.admission });
 * await authz.start(cp.server); // caches synced, review strategies registered, default roles in place
 * // ...
 * await cp.close();
 * await authz.close();
 * ```
 * @module
 */
import { Client } from "../../api/client.ts";
import type { ApiError } from "../../api/status.ts";
import type { AdmissionPlugin, AuthorizationAttributes, Authorizer, UserInfo } from "../context.ts";
import { LOOPBACK } from "../auth/users.ts";
import type { ApiServer } from "../server.ts";
import { attributesFrom, type SelectorAttributes } from "./attributes.ts";
import { bootstrapPolicy } from "./bootstrap.ts";
import { rbacEscalation } from "./escalation.ts";
import { forbiddenError, forbiddenMessage } from "./forbidden.ts";
import { NodeAuthorizer, nodeIdentity } from "./node_authorizer.ts";
import { NodeGraph } from "./node_graph.ts";
import { nodeRestriction } from "./node_restriction.ts";
import { aggregateErrors, RbacAuthorizer } from "./rbac.ts";
import { RbacCache } from "./rbac_cache.ts";
import { reviewStrategies } from "./reviews.ts";
import {
  type Attributes,
  type DecisionResult,
  type PolicyRule,
  RBAC_GROUP,
  type RoleRef,
  type RulesResult,
  SYSTEM_MASTERS,
} from "./types.ts";
import { WatchedResource } from "./watched.ts";

export { attributesFrom, forbiddenError, forbiddenMessage };
export type { Attributes, DecisionResult, PolicyRule, RulesResult };

export interface RbacStartOptions {
  /**
   * The privileged client that creates the default roles (a `system:masters` identity). Default:
   * the server's loopback identity (`system:apiserver`) through `server.fetchAs`.
   */
  client?: Client;
  /** Create and reconcile the default roles and bindings (default true). */
  bootstrap?: boolean;
}

const RBAC_PLURALS = ["roles", "clusterroles", "rolebindings", "clusterrolebindings"] as const;

/** The union authorizer with its caches; also the source of the RBAC admission steps and reviews. */
export class RbacAuthorization implements Authorizer, AsyncDisposable {
  readonly cache: RbacCache = new RbacCache();
  readonly graph: NodeGraph = new NodeGraph();
  readonly rbac: RbacAuthorizer = new RbacAuthorizer(this.cache);
  readonly node: NodeAuthorizer = new NodeAuthorizer(this.graph);
  /** Admission steps to pass as `ApiServerOptions.admission`: NodeRestriction, then RBAC escalation. */
  readonly admission: AdmissionPlugin[];
  #rbacFeeds: WatchedResource[] = [];
  #graphFeeds: WatchedResource[] = [];
  #ready = Promise.withResolvers<void>();
  #starting: Promise<void> | null = null;
  #synced = false;
  #abort = new AbortController();

  constructor() {
    this.#ready.promise.catch(() => {});
    this.admission = [
      nodeRestriction,
      rbacEscalation({
        allowed: async (a) => (await this.decide(a)).decision === "allow",
        rulesFor: (user, ns) => this.rbac.rulesFor(user, ns),
        roleRefRules: (ref: RoleRef, ns) => this.cache.roleRefRules(ref, ns),
        catchUp: () => this.#catchUp(this.#rbacFeeds),
      }),
    ];
  }

  /**
   * Registers the review strategies, fills the caches (resolving once they are synced), then
   * creates the default roles. Call once, after `server.start()`.
   */
  start(server: ApiServer, opts: RbacStartOptions = {}): Promise<void> {
    this.#starting ??= this.#start(server, opts);
    return this.#starting;
  }

  async #start(server: ApiServer, opts: RbacStartOptions): Promise<void> {
    for (const [key, strategy] of Object.entries(reviewStrategies(this))) server.setStrategy(key, strategy);
    const stored = (group: string, plural: string) => {
      const served = server.resource(group, "v1", plural);
      if (!served) {
        throw new Error(`${plural}.${group || "core"} is not served: add the RBAC kinds to the registry`);
      }
      return served.store;
    };
    this.#rbacFeeds = RBAC_PLURALS.map((p) =>
      new WatchedResource(server.store, server.hub, stored(RBAC_GROUP, p), this.cache.sink(p))
    );
    this.#graphFeeds = [
      new WatchedResource(server.store, server.hub, stored("", "pods"), this.graph.podSink()),
      new WatchedResource(server.store, server.hub, stored("", "persistentvolumes"), this.graph.pvSink()),
    ];
    try {
      await Promise.all([...this.#rbacFeeds, ...this.#graphFeeds].map((f) => f.start(this.#abort.signal)));
    } catch (e) {
      this.#ready.reject(e);
      throw e;
    }
    this.#synced = true;
    this.#ready.resolve();
    if (opts.bootstrap !== false) {
      const client = opts.client ??
        new Client({
          server: "http://skiff.internal",
          fetch: server.fetchAs(LOOPBACK),
          userAgent: "skiff-rbac-bootstrap",
        });
      await bootstrapPolicy(client);
    }
  }

  async #catchUp(feeds: WatchedResource[]): Promise<void> {
    await Promise.all(feeds.map((f) => f.catchUp()));
  }

  /** The union decision from the caches as they are now (no waiting). */
  decideNow(a: Attributes): DecisionResult {
    if (a.user.groups.includes(SYSTEM_MASTERS)) return { decision: "allow", reason: "" };
    const reasons: string[] = [];
    for (const authorizer of [this.node, this.rbac]) {
      const r = authorizer.authorize(a);
      if (r.decision !== "noOpinion") return r;
      if (r.reason) reasons.push(r.reason);
    }
    return { decision: "noOpinion", reason: reasons.join("\n") };
  }

  /**
   * The union decision (upstream's union authorizer: the first allow or deny wins). Before saying
   * no it waits for the caches to hold every committed write and decides again, so a binding or a
   * pod created just before the request counts.
   */
  async decide(a: Attributes): Promise<DecisionResult> {
    if (a.user.groups.includes(SYSTEM_MASTERS)) return { decision: "allow", reason: "" };
    if (!this.#synced) {
      if (!this.#starting) return { decision: "noOpinion", reason: "RBAC: the authorizer has not started" };
      await this.#ready.promise;
    }
    const first = this.decideNow(a);
    if (first.decision !== "noOpinion") return first;
    const node = nodeIdentity(a.user) !== null;
    await this.#catchUp(node ? [...this.#rbacFeeds, ...this.#graphFeeds] : this.#rbacFeeds);
    return this.decideNow(a);
  }

  /**
   * The pipeline's entry point. On denial, `reason` is the authorizers' reason as upstream's union
   * authorizer joins it (often empty; `no relationship found between node 'n1' and this object`,
   * `RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`): the pipeline appends it after
   * `User "…" cannot …: `. {@link forbiddenError} renders the whole Status.
   */
  async authorize(
    attrs: AuthorizationAttributes & SelectorAttributes,
  ): Promise<{ allowed: boolean; reason?: string }> {
    const d = await this.decide(attributesFrom(attrs));
    if (d.decision === "allow") return { allowed: true };
    return d.reason ? { allowed: false, reason: d.reason } : { allowed: false };
  }

  /** The upstream 403 for a denied request (for the pipeline). */
  forbidden(attrs: AuthorizationAttributes & SelectorAttributes, reason = ""): ApiError {
    return forbiddenError(attributesFrom(attrs), reason);
  }

  /**
   * The union `RulesFor` (SelfSubjectRulesReview): RBAC's rules; a node's list is incomplete, as
   * the node authorizer cannot enumerate what its graph allows.
   */
  rulesFor(user: UserInfo, namespace: string): RulesResult {
    const r = this.rbac.rulesFor(user, namespace);
    if (nodeIdentity(user) !== null) {
      return {
        rules: r.rules,
        incomplete: true,
        errors: ["node authorizer does not support user rule resolution", ...r.errors],
      };
    }
    return r;
  }

  /** Stops following the caches. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.all([...this.#rbacFeeds, ...this.#graphFeeds].map((f) => f.stopped()));
    await this.#starting?.catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export { aggregateErrors };
export { rbacEscalation } from "./escalation.ts";
export { nodeRestriction } from "./node_restriction.ts";
export { bootstrapClusterRoleBindings, bootstrapClusterRoles } from "./bootstrap_policy.ts";
export { allowAllReviewStrategies, reviewStrategies } from "./reviews.ts";
export { RBAC_REFS } from "./bootstrap.ts";
