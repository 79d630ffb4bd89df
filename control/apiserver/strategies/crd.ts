/**
 * CustomResourceDefinitions: defaulting, validation and status on write; the resource registry
 * follows every CRD (in this process directly after a write, in other replicas through a watch);
 * deleting a CRD deletes its custom resources first.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { CustomResourceDefinition } from "../crd/types.ts";
import { list } from "../../store/mod.ts";
import { crdConditions } from "../crd/crd_status.ts";
import { crdResourceDefs } from "../crd/crd_resource.ts";
import { defaultCrd, validateCrd } from "../crd/validate_crd.ts";
import type { Strategy } from "../rest/strategy.ts";
import type { ApiServer } from "../server.ts";
import { served } from "../resources.ts";

const CRD_GROUP = "apiextensions.k8s.io";

/** Attaches CRD defaulting and validation to the registry's CRD entry. */
export function withCrdValidation(defs: ResourceDef[]): ResourceDef[] {
  return defs.map((d) =>
    d.group === CRD_GROUP && d.plural === "customresourcedefinitions"
      ? { ...d, defaults: (obj) => void defaultCrd(asCrd(obj)), validate: safeValidate }
      : d
  );
}

const asCrd = (obj: KubeObject) => obj as CustomResourceDefinition;

/** CRD validation assumes a well-typed body; a malformed one is reported, never thrown. */
function safeValidate(obj: KubeObject, old?: KubeObject): StatusCause[] {
  try {
    return validateCrd(asCrd(obj), old && asCrd(old));
  } catch (e) {
    return [{
      reason: "FieldValueInvalid",
      field: "spec",
      message: `Invalid value: the CustomResourceDefinition is malformed: ${(e as Error).message}`,
    }];
  }
}

function crdResource(server: ApiServer) {
  return server.resource(CRD_GROUP, "v1", "customresourcedefinitions")!;
}

function established(crd: KubeObject): boolean {
  return (crd.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    c.type === "Established" && c.status === "True"
  );
}

/** Registers (or unregisters) the custom resources a CRD defines. */
export function applyCrd(server: ApiServer, crd: KubeObject, deleted: boolean) {
  const defs = !deleted && established(crd) && !crd.metadata.deletionTimestamp ? crdResourceDefs(asCrd(crd)) : [];
  server.registry.setCustom(crd.metadata.name!, defs);
}

async function computeStatus(server: ApiServer, crd: KubeObject): Promise<void> {
  const others = (await list(server.store, crdResource(server).store, {})).items
    .filter((o) => o.metadata.name !== crd.metadata.name);
  crd.status = crdConditions(asCrd(crd), others.map(asCrd), server.now());
}

export const crdStrategy: Strategy = {
  async beforeCreate(server, crd) {
    await computeStatus(server, crd);
  },
  async beforeUpdate(server, crd) {
    await computeStatus(server, crd);
  },
  async beginDelete(server, crd, opts) {
    if (opts.dryRun) return null;
    // Delete every custom resource of this CRD first (upstream's customresourcecleanup finalizer).
    const defs = crdResourceDefs(asCrd(crd));
    if (defs.length) {
      const res = served(defs[0], true).store;
      for (const obj of (await list(server.store, res, {})).items) {
        try {
          await server.store.delete(res, obj.metadata.namespace ?? "", obj.metadata.name!);
        } catch (e) {
          if ((e as { code?: number }).code !== 404) throw e;
        }
      }
    }
    return null;
  },
  afterWrite(server, crd, deleted) {
    applyCrd(server, crd, deleted);
  },
};

/** Loads every CRD into the registry; returns the resourceVersion to follow changes from. */
export async function loadCustomResources(server: ApiServer): Promise<string> {
  const res = crdResource(server).store;
  const all = await list(server.store, res, {});
  for (const crd of all.items) applyCrd(server, crd, false);
  return all.resourceVersion;
}

/** Follows CRD changes (from this or other replicas) until `signal` aborts. */
export async function syncCustomResources(server: ApiServer, from: string, signal: AbortSignal): Promise<void> {
  const res = crdResource(server).store;
  let rv = from;
  while (!signal.aborted) {
    try {
      for await (const ev of server.hub.watch(res, { signal, resourceVersion: rv === "0" ? undefined : rv })) {
        if (ev.type === "ERROR") {
          rv = await loadCustomResources(server);
          break;
        }
        rv = ev.object.metadata.resourceVersion ?? rv;
        if (ev.type === "BOOKMARK") continue;
        applyCrd(server, ev.object, ev.type === "DELETED");
      }
    } catch (e) {
      if (!signal.aborted) console.error("CRD sync failed; restarting:", e);
    }
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 100));
  }
}
