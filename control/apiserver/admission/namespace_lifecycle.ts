/**
 * The NamespaceLifecycle admission step: no new objects in a namespace that does not exist or is
 * terminating, and the system namespaces cannot be deleted. Namespaces are read from a cache fed
 * by a watch (as upstream's informer), falling back to the store for one the cache has not seen.
 * @module
 */
import { ApiError, forbidden, notFound } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store, StoreResource, WatchHub } from "../../store/mod.ts";
import type { AdmissionPlugin } from "../context.ts";

/** Namespaces by name, kept current by a watch. */
export class NamespaceCache {
  readonly #byName = new Map<string, KubeObject>();
  readonly #store: Store;
  readonly #res: StoreResource;

  constructor(store: Store, res: StoreResource) {
    this.#store = store;
    this.#res = res;
  }

  /** Follows namespace changes until `signal` aborts (restarting the watch if it ends). */
  async run(hub: WatchHub, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const ev of hub.watch(this.#res, { signal })) {
          if (ev.type === "ERROR" || ev.type === "BOOKMARK") continue;
          if (ev.type === "DELETED") this.#byName.delete(ev.object.metadata.name!);
          else this.#byName.set(ev.object.metadata.name!, ev.object);
        }
      } catch (e) {
        if (!signal.aborted) console.error("namespace cache watch failed; restarting:", e);
      }
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 100));
    }
  }

  async get(name: string): Promise<KubeObject | null> {
    return this.#byName.get(name) ?? await this.#store.get(this.#res, "", name);
  }
}

export function namespaceLifecycle(namespaces: NamespaceCache): AdmissionPlugin {
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
      const ns = await namespaces.get(a.namespace);
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
