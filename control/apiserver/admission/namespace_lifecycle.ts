/**
 * The NamespaceLifecycle admission step: no new objects in a namespace that does not exist or is
 * terminating, and the system namespaces cannot be deleted.
 * @module
 */
import { ApiError, forbidden, notFound } from "../../api/status.ts";
import type { Store, StoreResource } from "../../store/mod.ts";
import type { AdmissionPlugin } from "../context.ts";
import { SYSTEM_NAMESPACES } from "../strategies/namespace.ts";

export function namespaceLifecycle(store: Store, namespaces: StoreResource): AdmissionPlugin {
  return {
    name: "NamespaceLifecycle",
    async validate(a) {
      if (a.operation === "DELETE" && a.def.plural === "namespaces" && a.def.group === "") {
        if (["default", "kube-system", "kube-public"].includes(a.name)) {
          throw forbidden({ group: "", resource: "namespaces" }, a.name, "this namespace may not be deleted");
        }
        return;
      }
      if (a.operation !== "CREATE" || !a.def.namespaced || !a.namespace) return;
      const ns = await store.get(namespaces, "", a.namespace);
      if (!ns) throw notFound({ group: "", resource: "namespaces" }, a.namespace);
      if (ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") {
        const err = forbidden(
          { group: a.def.group, resource: a.def.plural },
          a.name,
          `unable to create new content in namespace ${a.namespace} because it is being terminated`,
        );
        err.status.details!.causes = [{
          reason: "NamespaceTerminating",
          message: `namespace ${a.namespace} is being terminated`,
          field: "metadata.namespace",
        }];
        throw err as ApiError;
      }
    },
  };
}

export { SYSTEM_NAMESPACES };
