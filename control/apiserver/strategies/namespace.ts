/**
 * Namespaces: DELETE marks them Terminating (the namespace controller empties them and removes the
 * `kubernetes` finalizer through the `finalize` subresource); the system namespaces cannot be deleted.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { timestamp } from "../rest/object_meta.ts";
import type { Strategy } from "../rest/strategy.ts";

/** Namespaces that always exist and may not be deleted. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export const namespaceStrategy: Strategy = {
  async beginDelete(server, ns, opts) {
    if (!ns.spec?.finalizers?.length) return null;
    if (ns.metadata.deletionTimestamp) return { deleted: false, object: ns };
    if (opts.dryRun) return { deleted: false, object: ns };
    const res = server.resource("", "v1", "namespaces")!;
    const updated = await server.store.update(res.store, "", ns.metadata.name!, (n) => {
      n.metadata.deletionTimestamp = timestamp(server.now());
      n.metadata.deletionGracePeriodSeconds = 0;
      (n.status ??= {}).phase = "Terminating";
      return n;
    });
    return { deleted: false, object: updated };
  },
  prepareForUpdate(ns, old) {
    // Only the finalize subresource changes spec.finalizers.
    if (old.spec?.finalizers) (ns.spec ??= {}).finalizers = structuredClone(old.spec.finalizers);
    else if (ns.spec) delete ns.spec.finalizers;
  },
  mayRemove(ns: KubeObject) {
    return !ns.spec?.finalizers?.length;
  },
};
