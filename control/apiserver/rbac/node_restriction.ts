/**
 * The part of upstream's NodeRestriction admission plugin the node authorizer cannot do itself,
 * because a create's name is only known from the body: a node may create only its own Node object
 * and its own Lease in kube-node-lease.
 * @module
 */
import { forbidden } from "../../api/status.ts";
import type { AdmissionPlugin } from "../context.ts";
import { nodeIdentity } from "./node_authorizer.ts";
import { NODE_LEASE_NAMESPACE } from "./types.ts";

export const nodeRestriction: AdmissionPlugin = {
  name: "NodeRestriction",
  validate(a) {
    if (a.operation !== "CREATE" || a.subresource) return;
    const node = nodeIdentity(a.user);
    if (node === null) return;
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
