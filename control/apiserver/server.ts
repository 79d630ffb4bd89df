/**
 * The API server: a Hono app that speaks the Kubernetes REST API over the KV store.
 *
 * Request flow: routing (`RequestInfo`) → authentication → authorization → the verb's handler,
 * which runs defaults → admission → validation → storage. The server keeps no state of its own
 * beyond caches it can rebuild from KV (the CRD-driven part of the resource registry), so several
 * replicas can share one KV.
 * @module
 */
import { Hono } from "hono";
import type { ResourceDef } from "../api/resource.ts";
import { ApiError, forbidden, internalError, methodNotAllowed, pathNotFound } from "../api/status.ts";
import { compact, type HubOptions, Store, type StoreOptions, WatchHub } from "../store/mod.ts";
import { NamespaceCache, namespaceLifecycle } from "./admission/namespace_lifecycle.ts";
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
import { builtinResources } from "./registry/mod.ts";
import { parseRequestInfo } from "./request_info.ts";
import { ResourceRegistry, type Served } from "./resources.ts";
import { deleteCollection, deleteObject } from "./rest/delete.ts";
import { getObject, listObjects } from "./rest/read.ts";
import type { Strategy } from "./rest/strategy.ts";
import { watchObjects } from "./rest/watch.ts";
import { createObject, patchObject, updateObject } from "./rest/write.ts";
import { crdStrategy, loadCustomResources, syncCustomResources, withCrdValidation } from "./strategies/crd.ts";
import { namespaceStrategy } from "./strategies/namespace.ts";
import { createBinding, podStrategy } from "./strategies/pod.ts";
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
  authenticator?: Authenticator;
  authorizer?: Authorizer;
  /** Admission plugins run after the built-in ones, in order. */
  admission?: AdmissionPlugin[];
  /** The service CIDR cluster IPs come from. */
  serviceCIDR?: string;
  hub?: HubOptions;
  /** Store options: the decoded-object cache bound, the encryption-at-rest transformer. */
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
  readonly app: Hono;
  /** Handlers for connect subresources, keyed `resource/subresource` (filled by the node integration). */
  readonly connect = new Map<string, ConnectHandler>();
  readonly #namespaces: NamespaceCache;
  readonly #strategies = new Map<string, Strategy>(Object.entries(STRATEGIES));
  readonly #authn: Authenticator;
  readonly #authz: Authorizer;
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
    this.#authn = opts.authenticator ?? noAuthentication;
    this.#authz = opts.authorizer ?? allowAll;
    this.#now = opts.now ?? Date.now;
    this.#retentionMs = opts.retentionMs ?? 5 * 60_000;
    this.#compactionMs = opts.compactionIntervalMs ?? 60_000;
    const namespaces = this.resource("", "v1", "namespaces")!;
    this.#namespaces = new NamespaceCache(this.store, namespaces.store);
    this.admission = [namespaceLifecycle(this.#namespaces), ...(opts.admission ?? [])];
    this.app = this.#routes();
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

  /** Serves one request (the Hono app's fetch). */
  fetch = (req: Request): Promise<Response> => Promise.resolve(this.app.fetch(req));

  /** Creates the system namespaces and Services, loads CRDs, and starts compaction and CRD sync. */
  async start(): Promise<void> {
    await bootstrap(this);
    const rv = await loadCustomResources(this);
    this.#background.push(syncCustomResources(this, rv, this.#closing.signal));
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

  /** Compacts the change log now (tests and Deno.cron). */
  compact(retentionMs = this.#retentionMs) {
    return compact(this.store.kv, { retentionMs, now: this.now() });
  }

  async close(): Promise<void> {
    this.#closing.abort();
    if (this.#compactTimer !== null) clearInterval(this.#compactTimer);
    this.hub.close();
    await Promise.allSettled(this.#background);
  }

  #routes(): Hono {
    const app = new Hono();
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
    app.get("/openapi/v3", () => json(openApiIndex(this.registry, (gv) => this.#openApiHash(gv))));
    app.get("/openapi/v3/*", (c) => {
      const gv = c.req.path.slice("/openapi/v3/".length);
      const m = gv.match(/^api\/(v\w+)$/) ?? gv.match(/^apis\/([^/]+)\/(v\w+)$/);
      if (!m) throw pathNotFound(c.req.path);
      const [group, version] = m.length === 2 ? ["", m[1]] : [m[1], m[2]];
      if (!this.registry.hasGroupVersion(group, version)) throw pathNotFound(c.req.path);
      return json(openApiDocument(this.registry, group, version));
    });
    app.all("/api/*", (c) => this.#resource(c.req.raw));
    app.all("/apis/*", (c) => this.#resource(c.req.raw));
    return app;
  }

  #openApiHash(gv: string): string {
    // The document is a pure function of the registry: its generation and the group-version name.
    let h = 2166136261 ^ this.registry.generation;
    for (const ch of gv) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return (h >>> 0).toString(16).toUpperCase().padStart(8, "0");
  }

  async #resource(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const info = parseRequestInfo(req.method, url.pathname, url.searchParams);
    const user: UserInfo = (await this.#authn.authenticate(req)) ?? {
      username: "system:anonymous",
      groups: ["system:unauthenticated"],
    };
    const decision = await this.#authz.authorize({ user, info });
    if (!decision.allowed) {
      throw forbidden(
        { group: info.group, resource: info.resource },
        info.name,
        decision.reason ?? `User "${user.username}" cannot ${info.verb} resource "${info.resource}"`,
      );
    }
    const served = this.registry.lookup(info.group, info.version, info.resource);
    if (!served || (info.namespace && !served.def.namespaced)) throw pathNotFound(url.pathname);
    if (info.subresource && !subresourceNames(served.def).includes(info.subresource)) throw pathNotFound(url.pathname);
    const readVerb = info.verb === "get" || info.verb === "list" || info.verb === "watch";
    const ctx: RequestContext = {
      info,
      served,
      req,
      query: url.searchParams,
      user,
      format: negotiate(req.headers.get("accept"), readVerb),
      warnings: [],
    };
    const sub = info.subresource;
    switch (info.verb) {
      case "get":
        if (sub && !["status", "scale"].includes(sub)) return this.#connect(ctx);
        return await getObject(this, ctx);
      case "list":
        return await listObjects(this, ctx);
      case "watch":
        return watchObjects(this, ctx);
      case "create":
        if (sub === "binding") return await createBinding(this, ctx);
        if (sub) return this.#connect(ctx);
        if (info.name) throw methodNotAllowed(`POST is not supported on a named ${served.def.kind}; use PUT or PATCH`);
        return await createObject(this, ctx);
      case "update":
        if (sub && !["status", "scale", "finalize"].includes(sub)) return this.#connect(ctx);
        return await updateObject(this, ctx);
      case "patch":
        if (sub && !["status", "scale"].includes(sub)) return this.#connect(ctx);
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
