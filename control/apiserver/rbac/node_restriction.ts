/**
 * The part of upstream's NodeRestriction admission plugin the node authorizer cannot do itself,
 * because a create's name is only known from the body: a node may create only its own Node object
 * and its own Lease in kube-node-lease. Skiff's addition: a node may change only its own entry
 * (`node/<name>`) of a Plugin's `status.components`.
 * @module
 */
import { forbidden } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { AdmissionPlugin } from "../context.ts";
import { nodeIdentity } from "./node_authorizer.ts";
import { NODE_LEASE_NAMESPACE } from "./types.ts";

/** A Plugin's `status.components` other than `mine`, keyed by name, as comparable JSON. Pure. */
function othersOf(obj: KubeObject | null, mine: string): string {
  const comps = ((obj?.status as { components?: { name: string }[] } | undefined)?.components ?? [])
    .filter((c) => c.name !== mine)
    .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return JSON.stringify(comps);
}

export const nodeRestriction: AdmissionPlugin = {
  name: "NodeRestriction",
  validate(a) {
    const node = nodeIdentity(a.user);
    if (node === null) return;
    // Skiff's Plugins: a node writes only its own entry of their status (`node/<name>`).
    if (a.def.group === "skiff.dev" && a.def.plural === "plugins" && a.subresource === "status" && a.operation === "UPDATE") {
      if (othersOf(a.object, `node/${node}`) !== othersOf(a.oldObject, `node/${node}`)) {
        throw forbidden(
          { group: "skiff.dev", resource: "plugins" },
          a.name,
          `node ${JSON.stringify(node)} may only modify its own entry (node/${node}) of status.components`,
        );
      }
      return;
    }
    if (a.operation !== "CREATE" || a.subresource) return;
    if (a.def.group === "" && a.def.plural === "nodes" && a.name !== node) {
      throw forbidden(
        { group: "", resource: "nodes" },
        a.name,
        `node ${JSON.stringify(node)} is not allowed to modify node ${JSON.stringify(a.name)}`,
      );
    }
    if (
      a.def.group === "coordination.k8s.io" && a.def.plural === "leases" &&
      a.namespace === NODE_LEASE_NAMESPACE && a.name !== node
    ) {
      throw forbidden(
        { group: "coordination.k8s.io", resource: "leases" },
        a.name,
        "can only access node lease with the same name as the requesting node",
      );
    }
  },
};
