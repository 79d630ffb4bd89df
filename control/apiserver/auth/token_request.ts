/**
 * TokenRequest (`authentication.k8s.io/v1`), served on two subresources:
 *
 * - `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` — upstream's, what
 *   `kubectl create token` calls: a ServiceAccount JWT for the asked audiences (default: the API
 *   server's) and duration (default 1 h, at least 10 min, capped at the server's maximum),
 *   optionally bound to a Pod, Secret or Node of the namespace (`boundObjectRef`).
 * - `POST /api/v1/nodes/{name}/token` — Skiff's: a node credential (`system:node:{name}`), what
 *   `./skiff node join --token` exchanges a bootstrap token for, and what a node renews its
 *   credential with. A node may ask only for its own name.
 * @module
 */
import { ApiError, badRequest, conflict, fieldError, forbidden, invalid, methodNotAllowed, notFound } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type RequestContext, requestBody } from "../context.ts";
import { decodeBody } from "../negotiate.ts";
import { isDNS1123Subdomain } from "../registry/names.ts";
import { render } from "../rest/response.ts";
import type { ApiServer } from "../server.ts";
import type { ClusterAuthentication } from "./cluster.ts";
import type { BoundObject } from "./service_account.ts";
import { nodeNameOf } from "./users.ts";

const API_VERSION = "authentication.k8s.io/v1";
const MIN_SECONDS = 600;

interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string };
}

async function readTokenRequest(ctx: RequestContext): Promise<KubeObject & { spec: TokenRequestSpec }> {
  if (ctx.req.method !== "POST") throw methodNotAllowed(`${ctx.req.method} is not supported on ${ctx.info.resource}/token; use POST`);
  const body = decodeBody(ctx.req.headers.get("content-type"), await requestBody(ctx));
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the request body must be a TokenRequest object");
  const obj = body as KubeObject & { spec?: TokenRequestSpec };
  if (obj.kind !== undefined && obj.kind !== "TokenRequest") {
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (TokenRequest)`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== API_VERSION) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${API_VERSION})`);
  }
  const spec = obj.spec ?? {};
  if (typeof spec !== "object" || Array.isArray(spec)) throw badRequest("spec must be an object");
  if (spec.audiences !== undefined && (!Array.isArray(spec.audiences) || spec.audiences.some((a) => typeof a !== "string"))) {
    throw badRequest("spec.audiences must be a list of strings");
  }
  if (spec.expirationSeconds !== undefined && spec.expirationSeconds !== null && !Number.isInteger(Number(spec.expirationSeconds))) {
    throw badRequest("spec.expirationSeconds must be an integer");
  }
  return { ...obj, metadata: obj.metadata ?? {}, spec };
}

/** Upstream's `ValidateTokenRequest` plus the server's cap; returns the duration to issue. */
function expirationSeconds(name: string, spec: TokenRequestSpec, fallback: number, max: number): number {
  const asked = spec.expirationSeconds === undefined || spec.expirationSeconds === null || Number(spec.expirationSeconds) === 0
    ? fallback
    : Number(spec.expirationSeconds);
  if (asked < MIN_SECONDS) {
    throw invalid("TokenRequest", "authentication.k8s.io", name, [
      fieldError.invalid("spec.expirationSeconds", asked, "may not specify a duration less than 10 minutes"),
    ]);
  }
  if (asked > 2 ** 32 - 1) {
    throw invalid("TokenRequest", "authentication.k8s.io", name, [
      { reason: "FieldValueTooLong", field: "spec.expirationSeconds", message: `Too long: may not be more than ${2 ** 32 - 1}` },
    ]);
  }
  return Math.min(asked, max);
}

function response(ctx: RequestContext, spec: TokenRequestSpec, issued: {
  token: string;
  expiresAt: number;
}): Response {
  const obj: KubeObject = {
    kind: "TokenRequest",
    apiVersion: API_VERSION,
    metadata: { name: ctx.info.name, ...(ctx.info.namespace ? { namespace: ctx.info.namespace } : {}) },
    spec,
    status: { token: issued.token, expirationTimestamp: new Date(issued.expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z") },
  };
  // The subresource's kind is TokenRequest, not the parent's: rendered as is (JSON, YAML or CBOR).
  return render(ctx, { ...ctx.format, shape: "object" }, 201, () => obj);
}

async function boundObject(server: ApiServer, ctx: RequestContext, ref: TokenRequestSpec["boundObjectRef"]) {
  if (!ref) return {};
  const { namespace, name: saName } = ctx.info;
  const kind = ref.kind ?? "";
  const path = { Pod: ["pods", namespace], Secret: ["secrets", namespace], Node: ["nodes", ""] }[kind];
  if (!path) throw badRequest(`cannot bind token to object of type ${kind}`);
  const served = server.resource("", "v1", path[0])!;
  const obj = await server.store.get(served.store, path[1], ref.name ?? "");
  if (!obj) throw notFound(served.store.gr, ref.name ?? "");
  if (ref.uid && ref.uid !== obj.metadata.uid) {
    throw conflict(served.store.gr, ref.name ?? "", `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  }
  if (kind === "Pod" && (obj.spec?.serviceAccountName ?? "default") !== saName) {
    throw badRequest(`cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`);
  }
  const bound: BoundObject = { kind: kind as BoundObject["kind"], name: obj.metadata.name!, uid: obj.metadata.uid! };
  let node: { name: string; uid: string } | undefined;
  if (kind === "Pod" && obj.spec?.nodeName) {
    const n = await server.store.get(server.resource("", "v1", "nodes")!.store, "", obj.spec.nodeName);
    node = { name: obj.spec.nodeName, uid: n?.metadata.uid ?? "" };
  }
  return { bound, node };
}

/** `serviceaccounts/token`. */
export function serviceAccountTokenHandler(auth: ClusterAuthentication) {
  return async (server: ApiServer, ctx: RequestContext): Promise<Response> => {
    const req = await readTokenRequest(ctx);
    const accounts = server.resource("", "v1", "serviceaccounts")!;
    const sa = await server.store.get(accounts.store, ctx.info.namespace, ctx.info.name);
    if (!sa) throw notFound(accounts.store.gr, ctx.info.name);
    const ttl = expirationSeconds(ctx.info.name, req.spec, 3600, auth.maxTokenSeconds);
    const audiences = req.spec.audiences?.length ? req.spec.audiences : auth.audiences;
    const { bound, node } = await boundObject(server, ctx, req.spec.boundObjectRef);
    const issued = await auth.serviceAccounts.issue({
      namespace: ctx.info.namespace,
      name: ctx.info.name,
      uid: sa.metadata.uid!,
      audiences,
      ttlSeconds: ttl,
      bound,
      node,
    });
    return response(ctx, { ...req.spec, audiences, expirationSeconds: ttl }, issued);
  };
}

/** `nodes/token`: a node credential for the named node. */
export function nodeTokenHandler(auth: ClusterAuthentication) {
  return async (_server: ApiServer, ctx: RequestContext): Promise<Response> => {
    const req = await readTokenRequest(ctx);
    const name = ctx.info.name;
    const errs = isDNS1123Subdomain(name);
    if (errs.length) {
      throw invalid("TokenRequest", "authentication.k8s.io", name, errs.map((m) => fieldError.invalid("metadata.name", name, m)));
    }
    const self = nodeNameOf(ctx.user);
    if (self !== null && self !== name) {
      throw forbidden({ group: "", resource: "nodes" }, name, `node "${self}" may only request its own credential`);
    }
    if (req.spec.audiences?.length || req.spec.boundObjectRef) {
      throw new ApiError({ code: 400, reason: "BadRequest", message: "a node credential takes no audiences or boundObjectRef" });
    }
    const ttl = expirationSeconds(name, req.spec, auth.nodeCredentialSeconds, auth.maxTokenSeconds);
    const issued = await auth.nodes.issue(name, ttl);
    return response(ctx, { audiences: auth.audiences, expirationSeconds: ttl }, issued);
  };
}
