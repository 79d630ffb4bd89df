/**
 * The node authorizer (upstream plugin/pkg/auth/authorizer/node/node_authorizer.go, with 1.32's
 * `AuthorizeNodeWithSelectors`): a node credential (`system:node:<name>` in group `system:nodes`)
 * may read and update its own Node, its own Lease in kube-node-lease, the pods bound to it (list and
 * watch only with `spec.nodeName=<name>`), and read the Secrets, ConfigMaps, claims and volumes those
 * pods use, and request tokens for their ServiceAccounts. Everything else is left to the static
 * `system:node` rules ({@link NODE_RULES}: events, token and access reviews, ...).
 *
 * Where upstream leaves pod writes to the NodeRestriction admission plugin, this authorizer checks
 * them itself: a node may update the status of, delete, and evict only pods bound to it.
 *
 * Decisions are pure over the {@link NodeGraph}.
 * @module
 */
import { requiredField } from "./attributes.ts";
import type { NodeGraph } from "./node_graph.ts";
import type { RefKind } from "./node_refs.ts";
import { rulesAllow } from "./rules.ts";
import type { Attributes, DecisionResult, PolicyRule } from "./types.ts";
import { NODE_LEASE_NAMESPACE, NODE_USER_PREFIX, SYSTEM_NODES } from "./types.ts";
import type { UserInfo } from "../context.ts";

/** The name of the node a credential belongs to, or null when the user is not a node. */
export function nodeIdentity(user: UserInfo): string | null {
  if (!user.username.startsWith(NODE_USER_PREFIX) || !user.groups.includes(SYSTEM_NODES)) return null;
  return user.username.slice(NODE_USER_PREFIX.length);
}

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});

/**
 * The static rules of a node for what the graph does not subdivide (the `system:node` ClusterRole):
 * upstream's `NodeRules()` without the kinds the node authorizer decides itself, and without the
 * kinds Skiff does not serve.
 */
export const NODE_RULES: readonly PolicyRule[] = [
  // Needed to check API access. These creates are non-mutating.
  rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
  rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews", "subjectaccessreviews"]),
  // Services, to populate pods' environment variables.
  rule(["get", "list", "watch"], [""], ["services"]),
  // Registration: a node creates its own Node (the name is checked at admission).
  rule(["create"], [""], ["nodes"]),
  rule(["create", "patch", "update"], [""], ["events"]),
  rule(["create", "patch", "update"], ["events.k8s.io"], ["events"]),
  rule(["get"], [""], ["endpoints"]),
  rule(["get", "list", "watch"], ["node.k8s.io"], ["runtimeclasses"]),
  // Skiff's: node agents load the node-side Plugins that select them and report in their status.
  rule(["get", "list", "watch"], ["skiff.dev"], ["plugins"]),
  rule(["get", "update", "patch"], ["skiff.dev"], ["plugins/status"]),
];

const noOpinion = (reason = ""): DecisionResult => ({ decision: "noOpinion", reason });
const ALLOW: DecisionResult = { decision: "allow", reason: "" };

export class NodeAuthorizer {
  readonly #graph: NodeGraph;

  constructor(graph: NodeGraph) {
    this.#graph = graph;
  }

  /** Decides for node credentials; no opinion for everyone else. */
  authorize(a: Attributes): DecisionResult {
    const node = nodeIdentity(a.user);
    if (node === null) return noOpinion();
    if (!node) return noOpinion(`unknown node for user ${JSON.stringify(a.user.username)}`);
    if (a.resourceRequest) {
      const gr = `${a.group}/${a.resource}`;
      switch (gr) {
        case "/secrets":
          return this.#readNamespaced(node, "secret", a);
        case "/configmaps":
          return this.#readNamespaced(node, "configmap", a);
        case "/persistentvolumeclaims":
          if (a.subresource === "status") return this.#statusUpdate(node, "persistentvolumeclaim", a);
          return this.#get(node, "persistentvolumeclaim", a);
        case "/persistentvolumes":
          return this.#get(node, "persistentvolume", a);
        case "/serviceaccounts":
          return this.#createToken(node, a);
        case "coordination.k8s.io/leases":
          return this.#lease(node, a);
        case "/nodes":
          return this.#node(node, a);
        case "/pods":
          return this.#pod(node, a);
      }
    }
    return rulesAllow(a, NODE_RULES) ? ALLOW : noOpinion();
  }

  #related(node: string, kind: RefKind | "pod", a: Attributes): DecisionResult {
    if (!a.name) return noOpinion("No Object name found");
    if (this.#graph.hasPath(node, kind, a.namespace, a.name)) return ALLOW;
    return noOpinion(`no relationship found between node '${node}' and this object`);
  }

  #readNamespaced(node: string, kind: RefKind, a: Attributes): DecisionResult {
    if (!["get", "list", "watch"].includes(a.verb)) return noOpinion("can only read resources of this type");
    if (a.subresource) return noOpinion("cannot read subresource");
    if (!a.namespace) return noOpinion("can only read namespaced object of this type");
    return this.#related(node, kind, a);
  }

  #get(node: string, kind: RefKind, a: Attributes): DecisionResult {
    if (a.verb !== "get") return noOpinion("can only get individual resources of this type");
    if (a.subresource) return noOpinion("cannot get subresource");
    return this.#related(node, kind, a);
  }

  #statusUpdate(node: string, kind: RefKind, a: Attributes): DecisionResult {
    if (!["update", "patch", "get"].includes(a.verb)) return noOpinion("can only get/update/patch this type");
    return this.#related(node, kind, a);
  }

  #createToken(node: string, a: Attributes): DecisionResult {
    if (a.verb !== "create" || !a.name) {
      return noOpinion("can only create tokens for individual service accounts");
    }
    if (a.subresource !== "token") return noOpinion("can only create token subresource of serviceaccount");
    return this.#related(node, "serviceaccount", a);
  }

  #lease(node: string, a: Attributes): DecisionResult {
    if (!["get", "create", "update", "patch", "delete"].includes(a.verb)) {
      return noOpinion("can only get, create, update, patch, or delete a node lease");
    }
    if (a.namespace !== NODE_LEASE_NAMESPACE) {
      return noOpinion(
        `can only access leases in the ${JSON.stringify(NODE_LEASE_NAMESPACE)} system namespace`,
      );
    }
    // The name of a create is checked at admission (the authorizer does not know it).
    if (a.verb !== "create" && a.name !== node) {
      return noOpinion("can only access node lease with the same name as the requesting node");
    }
    return ALLOW;
  }

  #node(node: string, a: Attributes): DecisionResult {
    switch (a.verb) {
      case "get":
      case "list":
      case "watch":
        if (a.name === node) return ALLOW;
        if (!a.name) return noOpinion(`node '${node}' cannot read all nodes, only its own Node object`);
        return noOpinion(`node '${node}' cannot read '${a.name}', only its own Node object`);
      case "update":
      case "patch":
        if (a.name === node && (a.subresource === "" || a.subresource === "status")) return ALLOW;
        return noOpinion(
          `node ${JSON.stringify(node)} is not allowed to modify node ${JSON.stringify(a.name)}`,
        );
      default:
        return rulesAllow(a, NODE_RULES) ? ALLOW : noOpinion();
    }
  }

  #pod(node: string, a: Attributes): DecisionResult {
    switch (a.verb) {
      case "get":
        if (a.subresource) return noOpinion("cannot get subresource");
        return this.#related(node, "pod", a);
      case "list":
      case "watch":
        if (!a.subresource && requiredField(a.fieldSelector, "spec.nodeName") === node) return ALLOW;
        if (a.name && !a.subresource) return this.#related(node, "pod", a);
        return noOpinion("can only list/watch pods with spec.nodeName field selector");
      case "update":
      case "patch":
        if (a.subresource !== "status") return noOpinion("can only update the status of pods");
        return this.#related(node, "pod", a);
      case "delete":
        if (a.subresource) return noOpinion();
        return this.#related(node, "pod", a);
      case "create":
        if (a.subresource !== "eviction") {
          return noOpinion("cannot create pods; only evictions of its own pods");
        }
        return this.#related(node, "pod", a);
      default:
        return noOpinion();
    }
  }
}
