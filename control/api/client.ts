/**
 * A small typed REST client for the Kubernetes API, used by every Skiff component (scheduler,
 * controllers, node agent): they are API clients like kubectl. Errors come back as ApiError with
 * the server's Status.
 *
 * @example
 * ```ts
 * const client = new Client({ server: "http://127.0.0.1:6443" });
 * const pod = await client.get(R.pods, "default", "web-0");
 * ```
 * @module
 */
import { ApiError } from "./status.ts";
import type { KubeList, KubeObject, WatchEvent } from "./types.ts";

/** Where a resource lives in the API. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const ref = (group: string, version: string, plural: string, namespaced = true): ResourceRef => ({
  group,
  version,
  plural,
  namespaced,
});

/** The built-in resources components use. */
export const R = {
  namespaces: ref("", "v1", "namespaces", false),
  nodes: ref("", "v1", "nodes", false),
  pods: ref("", "v1", "pods"),
  services: ref("", "v1", "services"),
  endpoints: ref("", "v1", "endpoints"),
  configmaps: ref("", "v1", "configmaps"),
  secrets: ref("", "v1", "secrets"),
  serviceaccounts: ref("", "v1", "serviceaccounts"),
  events: ref("", "v1", "events"),
  persistentvolumes: ref("", "v1", "persistentvolumes", false),
  persistentvolumeclaims: ref("", "v1", "persistentvolumeclaims"),
  resourcequotas: ref("", "v1", "resourcequotas"),
  limitranges: ref("", "v1", "limitranges"),
  deployments: ref("apps", "v1", "deployments"),
  replicasets: ref("apps", "v1", "replicasets"),
  daemonsets: ref("apps", "v1", "daemonsets"),
  statefulsets: ref("apps", "v1", "statefulsets"),
  controllerrevisions: ref("apps", "v1", "controllerrevisions"),
  jobs: ref("batch", "v1", "jobs"),
  cronjobs: ref("batch", "v1", "cronjobs"),
  leases: ref("coordination.k8s.io", "v1", "leases"),
  runtimeclasses: ref("node.k8s.io", "v1", "runtimeclasses", false),
  endpointslices: ref("discovery.k8s.io", "v1", "endpointslices"),
  priorityclasses: ref("scheduling.k8s.io", "v1", "priorityclasses", false),
  customresourcedefinitions: ref("apiextensions.k8s.io", "v1", "customresourcedefinitions", false),
} as const;

export interface ClientOptions {
  /** Base URL of the API server, e.g. `https://127.0.0.1:6443`. */
  server: string;
  /** Bearer token, or a function returning the current one (a rotated credential). */
  token?: string | (() => string);
  /**
   * CA certificates (PEM) to trust for the server's certificate, besides the system roots (the
   * kubeconfig's `certificate-authority-data`). The client then owns an HTTP client: close it.
   */
  caCerts?: string[];
  /** Replaces `fetch` (an in-process transport, or a client with TLS settings). */
  fetch?: (req: Request) => Promise<Response>;
  userAgent?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = "merge" | "strategic" | "json";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

/** The URL path of a resource collection or object. */
export function resourcePath(r: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export class Client implements Disposable {
  readonly server: string;
  readonly #fetch: (req: Request) => Promise<Response>;
  readonly #headers: Record<string, string>;
  readonly #token: ClientOptions["token"];
  readonly #http: Deno.HttpClient | undefined;

  constructor(opts: ClientOptions) {
    this.server = opts.server.replace(/\/$/, "");
    this.#http = opts.caCerts?.length && !opts.fetch ? Deno.createHttpClient({ caCerts: opts.caCerts }) : undefined;
    const http = this.#http;
    this.#fetch = opts.fetch ?? (http ? (req) => fetch(req, { client: http }) : (req) => fetch(req));
    this.#headers = { "User-Agent": opts.userAgent ?? "skiff" };
    this.#token = opts.token;
  }

  /** Closes the HTTP client made for `caCerts` (idle connections); the client is unusable after. */
  close(): void {
    this.#http?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Sends a request; throws ApiError for any non-2xx answer. */
  async request(method: string, path: string, body?: unknown, contentType = "application/json", signal?: AbortSignal): Promise<Response> {
    const headers = new Headers(this.#headers);
    const token = typeof this.#token === "function" ? this.#token() : this.#token;
    if (token) headers.set("Authorization", `Bearer ${token}`);
    headers.set("Accept", "application/json");
    if (body !== undefined) headers.set("Content-Type", contentType);
    const res = await this.#fetch(
      new Request(this.server + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      }),
    );
    if (res.ok) return res;
    const text = await res.text();
    let status;
    try {
      status = JSON.parse(text);
    } catch {
      status = undefined;
    }
    if (status?.kind === "Status") throw new ApiError(status);
    throw new ApiError({ code: res.status, reason: res.statusText, message: text || `HTTP ${res.status} from ${method} ${path}` });
  }

  async #json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.request(method, path, body, contentType);
    return await res.json() as T;
  }

  get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string, name: string): Promise<T> {
    return this.#json("GET", resourcePath(r, namespace, name));
  }

  /** Like get, but null for 404. */
  async tryGet<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string, name: string): Promise<T | null> {
    try {
      return await this.get<T>(r, namespace, name);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return null;
      throw e;
    }
  }

  list<T extends KubeObject = KubeObject>(r: ResourceRef, namespace?: string, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.#json("GET", resourcePath(r, namespace) + query({ ...opts }));
  }

  create<T extends KubeObject = KubeObject>(r: ResourceRef, obj: NoInfer<T>, opts: { dryRun?: boolean } = {}): Promise<T> {
    return this.#json("POST", resourcePath(r, obj.metadata.namespace) + query({ dryRun: opts.dryRun ? "All" : undefined }), obj);
  }

  update<T extends KubeObject = KubeObject>(r: ResourceRef, obj: NoInfer<T>, subresource?: string): Promise<T> {
    return this.#json("PUT", resourcePath(r, obj.metadata.namespace, obj.metadata.name, subresource), obj);
  }

  /** Replaces the status subresource. */
  updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: NoInfer<T>): Promise<T> {
    return this.update(r, obj, "status");
  }

  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    type: PatchType = "merge",
    subresource?: string,
  ): Promise<T> {
    return this.#json("PATCH", resourcePath(r, namespace, name, subresource), patch, PATCH_CONTENT_TYPES[type]);
  }

  /** Deletes; resolves to the server's answer (the object, or a Status). */
  delete(r: ResourceRef, namespace: string, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    return this.#json("DELETE", resourcePath(r, namespace, name), { kind: "DeleteOptions", apiVersion: "v1", ...opts });
  }

  /** Binds a pod to a node (the scheduler's write). */
  async bind(namespace: string, pod: string, node: string, precondition?: { uid?: string; resourceVersion?: string }): Promise<void> {
    const res = await this.request("POST", resourcePath(R.pods, namespace, pod, "binding"), {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: pod, namespace, ...precondition },
      target: { apiVersion: "v1", kind: "Node", name: node },
    });
    await res.body?.cancel();
  }

  /** Streams watch events until the server ends the watch or `signal` aborts. */
  async *watch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string | undefined,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const path = resourcePath(r, namespace) + query({
      watch: "true",
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks ? "true" : undefined,
      timeoutSeconds: opts.timeoutSeconds,
    });
    const res = await this.request("GET", path, undefined, undefined, opts.signal);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    // An in-process transport does not tie the body to the request's signal: cancel it ourselves.
    const onAbort = () => void reader.cancel().catch(() => {});
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    let buf = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T>;
        }
      }
    } catch (e) {
      if (opts.signal?.aborted) return;
      throw e;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      await reader.cancel().catch(() => {});
    }
  }
}
