/**
 * The API server: a Hono app that speaks the Kubernetes REST API over the KV store.
 *
 * Request flow: the filters of control/apiserver/auth (`RequestInfo` → authentication →
 * audit → impersonation → requests in flight → authorization → body limit), then routing to the
 * verb's handler, which runs defaults → admission → validation → storage. The server keeps no state of its own
 * beyond caches it can rebuild from KV (the CRD-driven part of the resource registry), so several
 * replicas can share one KV.
 * @module
 */
import { Hono } from "hono";
import type { ResourceDef } from "../api/resource.ts";
import { ApiError, internalError, methodNotAllowed, pathNotFound, serviceUnavailable } from "../api/status.ts";
import type { KubeObject } from "../api/types.ts";
import { compact, type HubOptions, Store, type StoreOptions, WatchHub } from "../store/mod.ts";
import { builtinAdmission, type BuiltinAdmissionOptions } from "./admission/builtin.ts";
import { ObjectCache } from "./admission/object_cache.ts";
import { storeReader } from "./admission/lookup.ts";
import { storageAdmission } from "./admission/storage.ts";
import { runtimeProbes } from "./admission/probes.ts";
import {
  defaultTolerationSeconds,
  type DefaultTolerationSecondsOptions,
} from "./admission/default_toleration_seconds.ts";
import { registerConnectHandlers } from "./connect/mod.ts";
import { NamespaceCache, namespaceLifecycle } from "./admission/namespace_lifecycle.ts";
import { allowAllReviewStrategies, RbacAuthorization, type RbacStartOptions } from "./rbac/mod.ts";
import {
  ADMIN,
  type AdmissionPlugin,
  allowAll,
  type Authenticator,
  type Authorizer,
  noAuthentication,
  type RequestContext,
  type UserInfo,
} from "./context.ts";
import type { AuditOptions } from "./auth/audit.ts";
import { type AuthenticationOptions, ClusterAuthentication } from "./auth/cluster.ts";
import { type Arrival, RequestFilters, type RequestState } from "./auth/filters.ts";
import type { InflightLimits } from "./auth/inflight.ts";
import { openIdConfiguration } from "./auth/issuer_discovery.ts";
import { KubeletClient, type KubeletClientOptions } from "./auth/kubelet_client.ts";
import { selfSubjectReviewStrategy, tokenReviewStrategy } from "./auth/reviews.ts";
import { nodeTokenHandler, serviceAccountTokenHandler } from "./auth/token_request.ts";
import { LOOPBACK } from "./auth/users.ts";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  subresourceNames,
  wantsAggregated,
} from "./discovery.ts";
import { negotiate } from "./negotiate.ts";
import { openApiDocument, openApiIndex } from "./openapi.ts";
import { openApiV2Response } from "./openapi_v2.ts";
import { builtinResources } from "./registry/mod.ts";
import { ResourceRegistry, type Served } from "./resources.ts";
import { deleteCollection, deleteObject } from "./rest/delete.ts";
import { getObject, listObjects } from "./rest/read.ts";
import type { Strategy } from "./rest/strategy.ts";
import { watchObjects } from "./rest/watch.ts";
import { createObject, patchObject, updateObject } from "./rest/write.ts";
import { crdStrategy, loadCustomResources, syncCustomResources, withCrdValidation } from "./strategies/crd.ts";
import { namespaceStrategy } from "./strategies/namespace.ts";
import { createBinding, createEviction, podStrategy } from "./strategies/pod.ts";
import { serviceStrategy } from "./strategies/service.ts";
import { bootstrap } from "./bootstrap.ts";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-skiff",
  gitCommit: "",
  gitTreeState: "clean",
  buildDate: "2026-11-26T00:00:00Z",
  goVersion: `deno${Deno.version.deno}`,
  compiler: "deno",
  platform: `${Deno.build.os}/${Deno.build.arch === "x86_64" ? "amd64" : Deno.build.arch}`,
};

export interface ApiServerOptions {
  kv: Deno.Kv;
  /** Built-in kinds; defaults to every kind Skiff serves. */
  builtins?: ResourceDef[];
  /**
   * Authenticates requests; overrides the one `authentication` builds. Without either, every
   * request acts as the admin (the insecure development mode).
   */
  authenticator?: Authenticator;
  /** Turns on authentication: static, bootstrap, ServiceAccount and node tokens (control/apiserver/auth). */
  authentication?: AuthenticationOptions;
  authorizer?: Authorizer;
  /**
   * Turns on authorization: the node authorizer and RBAC (with the default roles, created at
   * start), the RBAC admission steps, and the access reviews. Ignored if `authorizer` is given.
   */
  rbac?: boolean | RbacStartOptions;
  /** Turns on the built-in admission steps after NamespaceLifecycle (LimitRanger, ServiceAccount, PodSecurity, ResourceQuota). */
  builtinAdmission?: BuiltinAdmissionOptions;
  /**
   * The DefaultTolerationSeconds admission step's seconds (kube-apiserver's
   * `--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`,
   * 300 each by default). The step is always on, as upstream's is by default.
   */
  defaultTolerationSeconds?: DefaultTolerationSecondsOptions;
  /** Writes one audit event per request to a sink, by policy. */
  audit?: AuditOptions;
  /** Bounds on requests in flight (429 TooManyRequests); false turns them off. */
  limits?: InflightLimits | false;
  /** Request body limit in bytes (default 3 MiB, 413 past it). */
  maxRequestBodyBytes?: number;
  /** How the server reaches node agents (the CA of their serving certificates). */
  kubelet?: KubeletClientOptions;
  /** The URL clients reach this server at (issuer discovery's `jwks_uri`). */
  externalUrl?: string;
  /** Admission plugins run after the built-in ones, in order. */
  admission?: AdmissionPlugin[];
  /** The service CIDR cluster IPs come from. */
  serviceCIDR?: string;
  hub?: HubOptions;
  /** Store options: the decoded-object cache and kept-versions bounds, the encryption-at-rest transformer. */
  store?: StoreOptions;
  /** Change-log history kept before compaction, in ms (default 5 minutes). */
  retentionMs?: number;
  /** How often compaction runs, in ms (default 60 s; 0 disables the timer). */
  compactionIntervalMs?: number;
  now?: () => number;
}

/** A handler for a connect-style subresource (log, exec, attach, portforward, proxy). */
export type ConnectHandler = (server: ApiServer, ctx: RequestContext) => Promise<Response>;

const STRATEGIES: Record<string, Strategy> = {
  "services": serviceStrategy,
  "pods": podStrategy,
  "namespaces": namespaceStrategy,
  "nodes": { keepStatusOnCreate: true },
  "customresourcedefinitions.apiextensions.k8s.io": crdStrategy,
};

export class ApiServer {
  readonly store: Store;
  readonly hub: WatchHub;
  readonly registry: ResourceRegistry;
  readonly admission: AdmissionPlugin[];
  readonly serviceCIDR: string;
  readonly app: Hono<{ Bindings: RequestState }>;
  /** The request filters (authentication, audit, limits, authorization); `limiter` is exposed for tests. */
  readonly filters: RequestFilters;
  /** Calls node agents (HTTPS with the cluster CA and an API-server credential when configured). */
  readonly kubelet: KubeletClient;
  /** Handlers for connect subresources, keyed `resource/subresource` (filled by the node integration). */
  readonly connect = new Map<string, ConnectHandler>();
  readonly #namespaces: NamespaceCache;
  readonly #strategies = new Map<string, Strategy>(Object.entries(STRATEGIES));
  readonly #authz: Authorizer;
  readonly #rbac: RbacAuthorization | null;
  readonly #rbacOptions: RbacStartOptions;
  readonly #authOptions: AuthenticationOptions | undefined;
  #auth: ClusterAuthentication | null = null;
  #externalUrl: string;
  readonly #now: () => number;
  readonly #retentionMs: number;
  readonly #compactionMs: number;
  #compactTimer: ReturnType<typeof setInterval> | null = null;
  #background: Promise<void>[] = [];
  #closing = new AbortController();

  constructor(opts: ApiServerOptions) {
    this.store = new Store(opts.kv, opts.store);
    this.hub = new WatchHub(this.store, opts.hub);
    this.registry = new ResourceRegistry(withCrdValidation(opts.builtins ?? builtinResources()));
    this.serviceCIDR = opts.serviceCIDR ?? "198.19.0.0/16";
    this.#rbac = !opts.authorizer && opts.rbac ? new RbacAuthorization() : null;
    this.#rbacOptions = typeof opts.rbac === "object" ? opts.rbac : {};
    this.#authz = opts.authorizer ?? this.#rbac ?? allowAll;
    this.#authOptions = opts.authentication;
    this.#externalUrl = opts.externalUrl ?? "https://127.0.0.1:6443";
    this.#now = opts.now ?? Date.now;
    this.#retentionMs = opts.retentionMs ?? 5 * 60_000;
    this.#compactionMs = opts.compactionIntervalMs ?? 60_000;
    const namespaces = this.resource("", "v1", "namespaces")!;
    this.#namespaces = new NamespaceCache(this.store, namespaces.store);
    const runtimeClasses = this.resource("node.k8s.io", "v1", "runtimeclasses")!.store;
    this.admission = [
      namespaceLifecycle(this.#namespaces),
      // Probes a pod's runtime cannot run are refused at creation (exec probes on Wasm pods).
      runtimeProbes(async (name) => (await this.store.get(runtimeClasses, "", name))?.handler),
      // The not-ready/unreachable NoExecute tolerations (300 s unless configured).
      defaultTolerationSeconds(opts.defaultTolerationSeconds),
      // DefaultStorageClass, StorageObjectInUseProtection, PersistentVolumeClaimResize (docs/storage.md).
      ...storageAdmission(storeReader(this.store, this.resource("storage.k8s.io", "v1", "storageclasses")!.store)),
      ...(opts.builtinAdmission ? builtinAdmission(this, opts.builtinAdmission) : []),
      ...(this.#rbac?.admission ?? []),
      ...(opts.admission ?? []),
    ];
    this.app = this.#routes();
    registerConnectHandlers(this);
    const authenticator: Authenticator = opts.authenticator ?? (opts.authentication
      ? {
        authenticate: (req) => {
          if (!this.#auth) throw serviceUnavailable("the API server is starting; try again");
          return this.#auth.authenticator.authenticate(req);
        },
      }
      : noAuthentication);
    this.filters = new RequestFilters({
      authenticator,
      authorizer: this.#authz,
      audit: opts.audit,
      limits: opts.limits,
      maxRequestBodyBytes: opts.maxRequestBodyBytes,
      render: errorResponse,
      // Resource requests go straight to their handler (the Hono app routes them all to
      // #resource anyway; skipping its router and context saves work on every API call).
      inner: (req, state) => state.info.isResourceRequest ? this.#serveResource(req, state) : this.app.fetch(req, state),
    });
    this.kubelet = new KubeletClient(opts.kubelet ?? {}, () => this.#auth?.nodes ?? null);
    this.setStrategy("selfsubjectreviews.authentication.k8s.io", selfSubjectReviewStrategy);
    this.setStrategy("tokenreviews.authentication.k8s.io", tokenReviewStrategy({ authenticateToken: () => Promise.resolve(null) }, []));
  }

  /** The cluster's authentication once started with `authentication` options (token issuers, keys). */
  get authentication(): ClusterAuthentication | null {
    return this.#auth;
  }

  /** Sets the URL clients reach this server at (known once it listens). */
  set externalUrl(url: string) {
    this.#externalUrl = url;
  }

  now(): number {
    return this.#now();
  }

  resource(group: string, version: string, plural: string): Served | undefined {
    return this.registry.lookup(group, version, plural);
  }

  podsResource(): Served {
    return this.resource("", "v1", "pods")!;
  }

  strategy(served: Served): Strategy {
    return this.#strategies.get(served.store.key) ?? {};
  }

  /** Sets the strategy of a resource (by storage key, e.g. `selfsubjectaccessreviews.authorization.k8s.io`). */
  setStrategy(resourceKey: string, strategy: Strategy): void {
    this.#strategies.set(resourceKey, strategy);
  }

  /**
   * Serves one request from the network: every filter applies (authentication first). `info` is
   * `Deno.serve`'s second argument (the client address for the audit log).
   */
  fetch = (req: Request, info?: { remoteAddr?: Deno.Addr }): Promise<Response> => {
    const addr = info?.remoteAddr as Deno.NetAddr | undefined;
    return this.filters.serve(req, addr?.hostname ? { remoteAddr: addr.hostname } : {});
  };

  /**
   * A fetch for in-process callers acting as `user` (upstream's loopback client): authentication
   * is skipped, every other filter (audit, limits, authorization) applies. Never expose it.
   */
  fetchAs(user: UserInfo, arrival: Omit<Arrival, "user"> = {}): (req: Request) => Promise<Response> {
    return (req) => this.filters.serve(req, { ...arrival, user });
  }

  /** Calls node `node`'s agent (see {@linkcode KubeletClient}). */
  nodeFetch(node: KubeObject, path: string, init?: RequestInit): Promise<Response> {
    return this.kubelet.fetch(node, path, init);
  }

  /** Creates the system namespaces and Services, loads CRDs, and starts compaction and CRD sync. */
  async start(): Promise<void> {
    if (this.#authOptions) await this.#installAuthentication(this.#authOptions);
    // bootstrap.ts posts through `server.fetch`; it acts as the loopback user (system:apiserver).
    await bootstrap(Object.assign(Object.create(this) as ApiServer, { fetch: this.fetchAs(LOOPBACK) }));
    const rv = await loadCustomResources(this);
    this.#background.push(syncCustomResources(this, rv, this.#closing.signal));
    // Caches synced and default roles in place before anyone (our components included) is judged.
    if (this.#rbac) await this.#rbac.start(this, this.#rbacOptions);
    else for (const [key, strategy] of Object.entries(allowAllReviewStrategies())) this.setStrategy(key, strategy);
    this.#background.push(this.#namespaces.run(this.hub, this.#closing.signal));
    if (this.#compactionMs > 0) {
      this.#compactTimer = setInterval(() => {
        compact(this.store.kv, { retentionMs: this.#retentionMs }).catch((e) =>
          console.error("compaction failed; will retry:", e)
        );
      }, this.#compactionMs);
      Deno.unrefTimer(this.#compactTimer as unknown as number);
    }
  }

  async #installAuthentication(opts: AuthenticationOptions): Promise<void> {
    // ServiceAccounts (checked on every ServiceAccount token) from a watch-fed cache that never
    // misses a write of this process; the objects tokens are bound to are read from the store.
    const accounts = new ObjectCache(this.store, this.hub, this.resource("", "v1", "serviceaccounts")!.store);
    const lookup = (resource: string, namespace: string, name: string) =>
      resource === "serviceaccounts"
        ? accounts.get(namespace, name)
        : this.store.get(this.resource("", "v1", resource)!.store, namespace, name);
    const auth = await ClusterAuthentication.create(opts, lookup, this.#now);
    this.connect.set("serviceaccounts/token", serviceAccountTokenHandler(auth));
    this.connect.set("nodes/token", nodeTokenHandler(auth));
    this.setStrategy("tokenreviews.authentication.k8s.io", tokenReviewStrategy(auth.tokens, auth.audiences));
    this.#auth = auth;
  }

  /** Compacts the change log now (tests and Deno.cron). */
  compact(retentionMs = this.#retentionMs) {
    return compact(this.store.kv, { retentionMs, now: this.now() });
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.#rbac?.[Symbol.asyncDispose]();
    if (this.#compactTimer !== null) clearInterval(this.#compactTimer);
    this.hub.close();
    this.kubelet[Symbol.dispose]();
    await Promise.allSettled(this.#background);
  }

  #routes(): Hono<{ Bindings: RequestState }> {
    const app = new Hono<{ Bindings: RequestState }>();
    app.onError((err) => errorResponse(err));
    app.notFound((c) => errorResponse(pathNotFound(new URL(c.req.url).pathname)));

    const text = (body: string) => new Response(body, { headers: { "Content-Type": "text/plain; charset=utf-8" } });
    const json = (body: unknown, contentType = "application/json") =>
      new Response(JSON.stringify(body), { headers: { "Content-Type": contentType } });
    for (const path of ["/healthz", "/livez", "/readyz"]) {
      app.get(path, () => text("ok"));
      app.get(`${path}/*`, () => text("ok"));
    }
    app.get("/version", () => json(SERVER_VERSION));
    app.get("/api", (c) => {
      const v = wantsAggregated(c.req.header("accept") ?? null);
      if (v) return json(aggregatedDiscovery(this.registry, true, `apidiscovery.k8s.io/${v}`), aggregatedContentType(v));
      return json(apiVersions(new URL(c.req.url).host));
    });
    app.get("/apis", (c) => {
      const v = wantsAggregated(c.req.header("accept") ?? null);
      if (v) return json(aggregatedDiscovery(this.registry, false, `apidiscovery.k8s.io/${v}`), aggregatedContentType(v));
      return json(apiGroupList(this.registry));
    });
    app.get("/api/v1", () => json(apiResourceList(this.registry, "", "v1")));
    app.get("/apis/:group", (c) => {
      const group = c.req.param("group");
      if (!this.registry.groups().includes(group)) throw pathNotFound(c.req.path);
      return json(apiGroupDocument(this.registry, group));
    });
    app.get("/apis/:group/:version", (c) => {
      const { group, version } = c.req.param();
      if (!this.registry.hasGroupVersion(group, version)) throw pathNotFound(c.req.path);
      return json(apiResourceList(this.registry, group, version));
    });
    app.get("/openapi/v2", (c) => openApiV2Response(c.req.header("Accept") ?? null, "v1.32.0"));
    app.get("/openapi/v3", () => json(openApiIndex(this.registry, (gv) => this.#openApiHash(gv))));
    app.get("/openapi/v3/*", (c) => {
      const gv = c.req.path.slice("/openapi/v3/".length);
      const m = gv.match(/^api\/(v\w+)$/) ?? gv.match(/^apis\/([^/]+)\/(v\w+)$/);
      if (!m) throw pathNotFound(c.req.path);
      const [group, version] = m.length === 2 ? ["", m[1]] : [m[1], m[2]];
      if (!this.registry.hasGroupVersion(group, version)) throw pathNotFound(c.req.path);
      return json(openApiDocument(this.registry, group, version));
    });
    app.get("/.well-known/openid-configuration", () => {
      if (!this.#auth) throw pathNotFound("/.well-known/openid-configuration");
      return json(openIdConfiguration(this.#auth.issuer, this.#externalUrl, this.#auth.keys.alg));
    });
    app.get("/openid/v1/jwks", () => {
      if (!this.#auth) throw pathNotFound("/openid/v1/jwks");
      return json(this.#auth.keys.jwks(), "application/jwk-set+json");
    });
    app.all("/api/*", (c) => this.#resource(c.req.raw, c.env));
    app.all("/apis/*", (c) => this.#resource(c.req.raw, c.env));
    return app;
  }

  #openApiHash(gv: string): string {
    // The document is a pure function of the registry: its generation and the group-version name.
    let h = 2166136261 ^ this.registry.generation;
    for (const ch of gv) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return (h >>> 0).toString(16).toUpperCase().padStart(8, "0");
  }

  /** A resource request, with errors rendered as the app's `onError` does (HEAD as Hono does: GET without a body). */
  async #serveResource(req: Request, state: RequestState): Promise<Response> {
    let res: Response;
    try {
      res = await this.#resource(req, state);
    } catch (e) {
      res = errorResponse(e);
    }
    if (req.method === "HEAD" && res.body) {
      await res.body.cancel().catch(() => {});
      return new Response(null, res);
    }
    return res;
  }

  async #resource(req: Request, state: RequestState): Promise<Response> {
    // Authentication and authorization ran in the filters (control/apiserver/auth/filters.ts).
    const url = state.url ?? new URL(req.url);
    const { info, user } = state;
    const served = this.registry.lookup(info.group, info.version, info.resource);
    if (!served || (info.namespace && !served.def.namespaced)) throw pathNotFound(url.pathname);
    const sub = info.subresource;
    if (sub && !subresourceNames(served.def).includes(sub) && !this.connect.has(`${served.store.key}/${sub}`)) {
      throw pathNotFound(url.pathname);
    }
    if (!sub && served.def.verbs && !served.def.verbs.includes(info.verb)) {
      throw methodNotAllowed("the server does not allow this method on the requested resource");
    }
    const readVerb = info.verb === "get" || info.verb === "list" || info.verb === "watch";
    const ctx: RequestContext = {
      info,
      served,
      req,
      query: url.searchParams,
      user,
      format: negotiate(req.headers.get("accept"), readVerb),
      warnings: [],
      body: state.body,
    };
    switch (info.verb) {
      case "get":
        if (sub && !OBJECT_SUBRESOURCES.includes(sub)) return this.#connect(ctx);
        return await getObject(this, ctx);
      case "list":
        return await listObjects(this, ctx);
      case "watch":
        return watchObjects(this, ctx);
      case "create":
        if (sub === "binding") return await createBinding(this, ctx);
        if (sub === "eviction") return await createEviction(this, ctx);
        if (sub) return this.#connect(ctx);
        if (info.name) throw methodNotAllowed(`POST is not supported on a named ${served.def.kind}; use PUT or PATCH`);
        return await createObject(this, ctx);
      case "update":
        if (sub && ![...OBJECT_SUBRESOURCES, "finalize"].includes(sub)) return this.#connect(ctx);
        return await updateObject(this, ctx);
      case "patch":
        if (sub && !OBJECT_SUBRESOURCES.includes(sub)) return this.#connect(ctx);
        return await patchObject(this, ctx);
      case "delete":
        if (sub) return this.#connect(ctx);
        return await deleteObject(this, ctx);
      case "deletecollection":
        return await deleteCollection(this, ctx);
      case "connect":
        return this.#connect(ctx);
      default:
        throw methodNotAllowed(`${req.method} is not supported`);
    }
  }

  #connect(ctx: RequestContext): Promise<Response> {
    const handler = this.connect.get(`${ctx.served.store.key}/${ctx.info.subresource}`);
    if (!handler) {
      throw new ApiError({
        code: 503,
        reason: "ServiceUnavailable",
        message: `${ctx.info.resource}/${ctx.info.subresource} is not available: no node agent serves it in this cluster`,
      });
    }
    return handler(this, ctx);
  }
}

/** Subresources read and written as (part of) the object itself, not through a connect handler. */
const OBJECT_SUBRESOURCES = ["status", "scale", "ephemeralcontainers"];

/** Renders any error as a Kubernetes Status; unexpected errors are logged and become a 500. */
export function errorResponse(err: unknown): Response {
  let e: ApiError;
  if (err instanceof ApiError) e = err;
  else {
    console.error("internal error while serving a request:", err);
    e = internalError();
  }
  const headers = new Headers({ "Content-Type": "application/json" });
  if (e.status.details?.retryAfterSeconds) headers.set("Retry-After", String(e.status.details.retryAfterSeconds));
  return new Response(JSON.stringify(e.status), { status: e.code, headers });
}

export { ADMIN };
