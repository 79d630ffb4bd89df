/**
 * The write verbs: create, update (PUT), patch, and the status and scale subresources. Each runs
 * the upstream order: decode → defaults → mutating admission → validation → validating admission →
 * storage, and honours `dryRun=All`, `generateName` and `fieldValidation`.
 * @module
 */
import {
  badRequest,
  conflict,
  fieldError,
  invalid,
  notFound,
  STALE_OBJECT,
} from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { clone, parseApiVersion } from "../../api/types.ts";
import { PreconditionFailed, type WriteOptions } from "../../store/mod.ts";
import { type AdmissionAttributes, type Operation, type RequestContext, requestBody } from "../context.ts";
import { bodyMediaType, decodeBody, parseJson } from "../negotiate.ts";
import { applyPatch } from "../patch/mod.ts";
import type { ApiServer } from "../server.ts";
import { parseFieldValidation, validateFields } from "./field_validation.ts";
import { generateName, prepareForCreate, prepareForUpdate } from "./object_meta.ts";
import { objectResponse } from "./response.ts";
import { scaleResponse } from "./read.ts";
import { applyScale, scaleOf } from "./scale.ts";
import { finishDeleteIfFinalized } from "./delete.ts";

const MAX_ALLOCATION_ATTEMPTS = 32;

export function isDryRun(query: URLSearchParams): boolean {
  const values = query.getAll("dryRun");
  for (const v of values) {
    if (v !== "All") throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

function readBody(ctx: RequestContext): Promise<Uint8Array> {
  return requestBody(ctx);
}

/** Checks that a decoded body is an object of the kind this endpoint serves. */
function checkKind(
  ctx: RequestContext,
  body: unknown,
  expectKind = ctx.served.def.kind,
  expectApiVersion = ctx.served.apiVersion,
): KubeObject {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("the request body must be a JSON or YAML object");
  }
  const obj = body as KubeObject;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== "object" || Array.isArray(obj.metadata)) {
    throw badRequest(
      `${expectKind} in version "${
        parseApiVersion(expectApiVersion).version
      }" cannot be handled as a ${expectKind}: metadata must be an object`,
    );
  }
  if (obj.kind !== undefined && obj.kind !== expectKind) {
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${expectKind})`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== expectApiVersion) {
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expectApiVersion})`,
    );
  }
  obj.apiVersion = expectApiVersion;
  obj.kind = expectKind;
  return obj;
}

/** Runs the admission chain and the kind's validation, throwing 422/403 as upstream does. */
async function admit(
  server: ApiServer,
  ctx: RequestContext,
  operation: Operation,
  obj: KubeObject,
  old: KubeObject | null,
  dryRun: boolean,
): Promise<void> {
  const def = ctx.served.def;
  const attrs: AdmissionAttributes = {
    operation,
    def,
    object: obj,
    oldObject: old,
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    subresource: ctx.info.subresource,
    user: ctx.user,
    dryRun,
    warnings: ctx.warnings,
  };
  // Most steps answer synchronously for most kinds: await only the promises (each await of a
  // non-promise still costs a microtask and an allocation on every write).
  for (const p of server.admission) {
    const pending = p.admit?.(attrs);
    if (pending) await pending;
  }
  const causes = def.validate?.(obj, old ?? undefined, ctx.info.subresource) ?? [];
  if (causes.length) throw invalid(def.kind, def.group, obj.metadata.name ?? "", causes);
  for (const p of server.admission) {
    const pending = p.validate?.(attrs);
    if (pending) await pending;
  }
}

export async function createObject(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { served, info, query } = ctx;
  const def = served.def;
  const dryRun = isDryRun(query);
  const mode = parseFieldValidation(query.get("fieldValidation"));
  const body = await readBody(ctx);
  const strategy = server.strategy(served);
  /** The request's object, decoded from the body, in this endpoint's namespace, unknown fields pruned. */
  const fromRequest = (): { obj: KubeObject; warnings: string[] } => {
    const obj = checkKind(ctx, decodeBody(ctx.req.headers.get("content-type"), body, { protobuf: def.protobuf }));
    const m = obj.metadata;
    if (def.namespaced) {
      if (m.namespace && m.namespace !== info.namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      if (!info.namespace) {
        throw badRequest(
          `the server could not find the requested resource: ${def.plural} must be created in a namespace`,
        );
      }
      m.namespace = info.namespace;
    } else {
      delete m.namespace;
    }
    return { obj, warnings: validateFields(obj, def, mode) };
  };
  const { obj, warnings } = fromRequest();
  ctx.warnings.push(...warnings);
  if (strategy.create) return objectResponse(ctx, await strategy.create(server, ctx, obj), 201);
  const m = obj.metadata;
  const generated = !m.name && !!m.generateName;
  const generateNameBase = m.generateName;
  for (let attempt = 0;; attempt++) {
    // Each attempt starts from the request: defaults and allocations are recomputed. The first
    // uses the decoded request itself; a retry decodes the body again (cheaper than keeping a
    // deep copy for the rare retry).
    const candidate = attempt === 0 ? obj : fromRequest().obj;
    if (!strategy.keepStatusOnCreate && def.subresources?.status) delete candidate.status;
    prepareForCreate(candidate, def, server.now());
    if (generated) candidate.metadata.name = generateName(generateNameBase!);
    if (!candidate.metadata.name) {
      throw invalid(def.kind, def.group, "", [
        fieldError.required("metadata.name", "name or generateName is required"),
      ]);
    }
    def.defaults?.(candidate, { operation: "CREATE" });
    await admit(server, ctx, "CREATE", candidate, null, dryRun);
    try {
      const opts = (await strategy.beforeCreate?.(server, candidate, dryRun)) ?? {};
      if (dryRun) return objectResponse(ctx, candidate, 201);
      const created = await server.store.create(served.store, candidate, opts);
      await strategy.afterWrite?.(server, created, false);
      return objectResponse(ctx, created, 201);
    } catch (e) {
      if (e instanceof PreconditionFailed && attempt < MAX_ALLOCATION_ATTEMPTS) continue;
      if (generated && attempt < 8 && (e as { reason?: string }).reason === "AlreadyExists") continue;
      throw e;
    }
  }
}

/**
 * The shared update path: `compute` turns the stored object into the desired one (a fresh object;
 * it must not change `current`); the result is restricted to what the subresource may change,
 * defaulted, admitted and written with optimistic concurrency. `current` is the store's shared
 * decoded object (no copy per request): nothing here, in the strategies or in admission changes
 * it, and what `next` takes from it is copied.
 */
async function updateWith(
  server: ApiServer,
  ctx: RequestContext,
  compute: (current: KubeObject) => KubeObject,
  patch?: { body: unknown },
): Promise<Response> {
  const { served, info, query } = ctx;
  const def = served.def;
  const dryRun = isDryRun(query);
  const mode = parseFieldValidation(query.get("fieldValidation"));
  const strategy = server.strategy(served);
  const sub = info.subresource;
  let writeOpts: WriteOptions = {};
  const tryUpdate = async (current: KubeObject): Promise<KubeObject> => {
    let next = compute(current);
    const requestedRv = next.metadata?.resourceVersion;
    if (requestedRv && requestedRv !== current.metadata.resourceVersion) {
      throw conflict(served.store.gr, info.name, STALE_OBJECT);
    }
    ctx.warnings.length = 0;
    ctx.warnings.push(...validateFields(next, def, mode, patch));
    if (sub === "status") {
      // Only status changes; metadata and spec stay as stored (copied: later steps may set them).
      const out: KubeObject = { ...current };
      for (const k in out) if (k !== "status") (out as Record<string, unknown>)[k] = clone(out[k]);
      out.status = next.status;
      next = out;
    } else if (sub === "ephemeralcontainers") {
      // Only spec.ephemeralContainers changes (pods): `kubectl debug` adds one.
      next = {
        ...clone(current),
        spec: { ...clone(current.spec), ephemeralContainers: next.spec?.ephemeralContainers },
      };
      if (next.spec.ephemeralContainers === undefined) delete next.spec.ephemeralContainers;
    } else if (sub === "finalize") {
      // Only spec.finalizers changes (namespaces).
      next = {
        ...clone(current),
        spec: { ...clone(current.spec), finalizers: next.spec?.finalizers ?? [] },
      };
    } else if (def.subresources?.status) {
      if (current.status === undefined) delete next.status;
      else next.status = clone(current.status);
    }
    prepareForUpdate(next, current, def);
    if (!sub) strategy.prepareForUpdate?.(next, current);
    if (current.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) =>
        !(current.metadata.finalizers ?? []).includes(f)
      );
      if (added.length) {
        throw invalid(def.kind, def.group, info.name, [
          fieldError.forbidden(
            "metadata.finalizers",
            `no new finalizers can be added if the object is being deleted, found new finalizers ${
              JSON.stringify(added)
            }`,
          ),
        ]);
      }
    }
    def.defaults?.(next, { operation: "UPDATE" });
    await admit(server, ctx, "UPDATE", next, current, dryRun);
    writeOpts = (await strategy.beforeUpdate?.(server, next, current, dryRun)) ?? {};
    if (dryRun) throw new DryRunResult(next);
    return next;
  };
  let updated: KubeObject;
  for (let attempt = 0;; attempt++) {
    try {
      updated = await server.store.update(served.store, info.namespace, info.name, tryUpdate, {
        get checks() {
          return writeOpts.checks;
        },
        mutate: (op) => writeOpts.mutate?.(op),
        readOnlyCurrent: true,
      });
      break;
    } catch (e) {
      if (e instanceof DryRunResult) {
        return sub === "scale" ? scaleResponse(ctx, e.object) : objectResponse(ctx, e.object);
      }
      if (e instanceof PreconditionFailed && attempt < MAX_ALLOCATION_ATTEMPTS) continue;
      throw e;
    }
  }
  const final = await finishDeleteIfFinalized(server, ctx, updated);
  await strategy.afterWrite?.(server, final.object, final.deleted);
  if (sub === "scale") return scaleResponse(ctx, final.object);
  return objectResponse(ctx, final.object);
}

class DryRunResult extends Error {
  constructor(readonly object: KubeObject) {
    super("dry run");
  }
}

export async function updateObject(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { served, info } = ctx;
  const bytes = await readBody(ctx);
  const body = decodeBody(ctx.req.headers.get("content-type"), bytes, {
    protobuf: info.subresource === "scale" || served.def.protobuf,
  });
  if (info.subresource === "scale") {
    const scale = checkKind(ctx, body, "Scale", "autoscaling/v1");
    return updateWith(server, ctx, (cur) => {
      if (scale.metadata.resourceVersion && scale.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        throw conflict(served.store.gr, info.name, STALE_OBJECT);
      }
      return applyScale(served.def, clone(cur), scale);
    });
  }
  const obj = checkKind(ctx, body);
  if (obj.metadata.name && obj.metadata.name !== info.name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${info.name})`,
    );
  }
  if (served.def.namespaced && obj.metadata.namespace && obj.metadata.namespace !== info.namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  // The first attempt takes the decoded request itself; a retry decodes the body again (cheaper
  // than a deep copy per attempt).
  let fresh = true;
  return updateWith(server, ctx, () => {
    if (fresh) {
      fresh = false;
      return obj;
    }
    return checkKind(ctx, decodeBody(ctx.req.headers.get("content-type"), bytes, { protobuf: served.def.protobuf }));
  });
}

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
];

export async function patchObject(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { served, info } = ctx;
  const type = bodyMediaType(ctx.req.headers.get("content-type"));
  if (!PATCH_TYPES.includes(type)) {
    // applyPatch renders upstream's 415 listing the accepted types for this kind.
    applyPatch(type, { metadata: {} }, {}, served.custom ? undefined : served.def.schema);
  }
  const bytes = await readBody(ctx);
  if (!bytes.length) throw badRequest("the patch body is empty");
  const patch = type === "application/apply-patch+yaml" ? null : parseJson(bytes);
  const typeName = served.custom ? undefined : served.def.schema;
  if (info.subresource === "scale") {
    return updateWith(server, ctx, (cur) => {
      const copy = clone(cur);
      const scale = applyPatch(type, scaleOf(served.def, copy) as KubeObject, patch, "V1Scale");
      return applyScale(served.def, copy, scale);
    });
  }
  return updateWith(server, ctx, (cur) => applyPatch(type, clone(cur), patch, typeName), { body: patch });
}

/** Used by PUT of a missing object: 404, as upstream for kinds that do not allow create-on-update. */
export function notFoundFor(ctx: RequestContext) {
  return notFound(ctx.served.store.gr, ctx.info.name);
}
