/**
 * HTTP to a registry's `/v2/` API with authentication: the first 401 of a repository is answered
 * by its challenge (Bearer: a token from the realm, with Basic credentials when there are some;
 * Basic: the credentials themselves), tokens are cached until they expire, and registry errors
 * become {@linkcode RegistryError}s carrying the registry's own message.
 * @module
 */
import {
  basicAuthorization,
  type Challenge,
  type Credentials,
  parseChallenges,
  repositoryScope,
  tokenUrl,
} from "./auth.ts";
import { apiHost, isLoopbackRegistry } from "./reference.ts";

/** An error answered by a registry (or met on the way to it). */
export class RegistryError extends Error {
  /** HTTP status, 0 when the registry could not be reached. */
  readonly status: number;
  /** The registry's error code (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, …), when it sent one. */
  readonly code?: string;

  constructor(message: string, status: number, code?: string) {
    super(message);
    this.name = "RegistryError";
    this.status = status;
    this.code = code;
  }
}

/** Options of a {@linkcode RegistryTransport}. */
export interface TransportOptions {
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Registries (host[:port]) reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** The `User-Agent` header. */
  userAgent?: string;
}

/** One request to a repository of a registry. */
export interface RepositoryRequest {
  registry: string;
  repository: string;
  /** Path after `/v2/<repository>/` (`manifests/latest`), or an absolute URL (upload locations). */
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit;
  /** Token scope actions (default `["pull"]`). */
  actions?: readonly string[];
  credentials?: Credentials;
  signal?: AbortSignal;
  /** Statuses that are not errors (default: 2xx). */
  accept?: (status: number) => boolean;
}

interface CachedAuth {
  header: string;
  expiresAt: number;
}

/** The registry's JSON error body, rendered as `CODE: message (detail)`. */
export async function describeErrorBody(res: Response): Promise<{ code?: string; text: string }> {
  const raw = await res.text().catch(() => "");
  try {
    const body = JSON.parse(raw) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const first = body.errors?.[0];
    if (first) {
      const detail = first.detail !== undefined && first.detail !== null
        ? ` (${JSON.stringify(first.detail)})`
        : "";
      return {
        code: first.code,
        text: body.errors!.map((e) => `${e.code ?? "ERROR"}: ${e.message ?? ""}`).join("; ") + detail,
      };
    }
  } catch {
    // not JSON
  }
  return { text: raw.trim().slice(0, 300) || res.statusText };
}

/** Authenticated requests to registries; one instance caches tokens for all of them. */
export class RegistryTransport {
  readonly #fetch: typeof fetch;
  readonly #insecure: Set<string>;
  readonly #userAgent: string;
  readonly #auth = new Map<string, CachedAuth>();

  constructor(opts: TransportOptions = {}) {
    this.#fetch = opts.fetch ?? fetch;
    this.#insecure = new Set(opts.insecureRegistries ?? []);
    this.#userAgent = opts.userAgent ?? "skiff-node";
  }

  /** `http(s)://<api host>/v2/` of a registry. */
  baseUrl(registry: string): string {
    const scheme = isLoopbackRegistry(registry) || this.#insecure.has(registry) ? "http" : "https";
    return `${scheme}://${apiHost(registry)}/v2/`;
  }

  /** Sends a request, answering one authentication challenge; throws {@linkcode RegistryError}. */
  async request(req: RepositoryRequest): Promise<Response> {
    const actions = req.actions ?? ["pull"];
    const scope = repositoryScope(req.repository, actions);
    const key = `${req.registry}|${scope}|${credentialKey(req.credentials)}`;
    const url = /^https?:\/\//.test(req.path)
      ? req.path
      : new URL(`${req.repository}/${req.path}`, this.baseUrl(req.registry)).href;
    let auth = this.#auth.get(key);
    if (auth && auth.expiresAt <= Date.now()) {
      this.#auth.delete(key);
      auth = undefined;
    }
    let res = await this.#send(url, req, auth?.header);
    if (res.status === 401) {
      const header = res.headers.get("www-authenticate") ?? "";
      await res.body?.cancel();
      const challenges = parseChallenges(header);
      const fresh = await this.#answer(challenges, scope, req);
      this.#auth.set(key, fresh);
      res = await this.#send(url, req, fresh.header);
    }
    if (!(req.accept ?? ((s: number) => s >= 200 && s < 300))(res.status)) {
      const { code, text } = await describeErrorBody(res);
      throw new RegistryError(`${req.method ?? "GET"} ${url}: ${res.status} ${text}`, res.status, code);
    }
    return res;
  }

  async #send(url: string, req: RepositoryRequest, authorization?: string): Promise<Response> {
    const headers = new Headers(req.headers);
    headers.set("User-Agent", this.#userAgent);
    if (authorization) headers.set("Authorization", authorization);
    try {
      return await this.#fetch(url, {
        method: req.method ?? "GET",
        headers,
        body: req.body,
        signal: req.signal,
      });
    } catch (e) {
      if (req.signal?.aborted) throw e;
      throw new RegistryError(`${req.method ?? "GET"} ${url}: ${(e as Error).message}`, 0);
    }
  }

  async #answer(challenges: Challenge[], scope: string, req: RepositoryRequest): Promise<CachedAuth> {
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) return await this.#token(bearer, scope, req);
    const basic = challenges.find((c) => c.scheme === "basic");
    if (basic) {
      const creds = req.credentials;
      if (!creds || creds.username === undefined) {
        throw new RegistryError(
          `${req.registry}: authentication required (Basic realm "${
            basic.params.realm ?? ""
          }") and no imagePullSecret matches`,
          401,
          "UNAUTHORIZED",
        );
      }
      return { header: basicAuthorization(creds), expiresAt: Number.POSITIVE_INFINITY };
    }
    throw new RegistryError(
      `${req.registry}: unsupported authentication challenge "${
        challenges.map((c) => c.scheme).join(", ") || "(none)"
      }"`,
      401,
      "UNAUTHORIZED",
    );
  }

  async #token(challenge: Challenge, scope: string, req: RepositoryRequest): Promise<CachedAuth> {
    const url = tokenUrl(challenge, scope);
    const creds = req.credentials;
    let res: Response;
    try {
      if (creds?.identityToken) {
        const form = new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: creds.identityToken,
          service: challenge.params.service ?? "",
          scope: url.searchParams.getAll("scope").join(" "),
          client_id: this.#userAgent,
        });
        res = await this.#fetch(url.origin + url.pathname, {
          method: "POST",
          body: form,
          signal: req.signal,
        });
      } else {
        const headers: Record<string, string> = { "User-Agent": this.#userAgent };
        if (creds && creds.username !== undefined) headers.Authorization = basicAuthorization(creds);
        res = await this.#fetch(url, { headers, signal: req.signal });
      }
    } catch (e) {
      if (req.signal?.aborted) throw e;
      throw new RegistryError(`token request to ${url.origin}${url.pathname}: ${(e as Error).message}`, 0);
    }
    if (!res.ok) {
      const { code, text } = await describeErrorBody(res);
      throw new RegistryError(
        `token request to ${url.origin}${url.pathname}: ${res.status} ${text}`,
        res.status,
        code ?? "UNAUTHORIZED",
      );
    }
    const body = await res.json() as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) {
      throw new RegistryError(
        `token request to ${url.origin}${url.pathname}: the answer has no token`,
        res.status,
      );
    }
    const lifetime = Math.max(60, body.expires_in ?? 60) * 1000;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + lifetime - 5_000 };
  }
}

function credentialKey(creds?: Credentials): string {
  if (!creds) return "anonymous";
  return JSON.stringify([creds.username ?? "", creds.password ?? "", creds.identityToken ?? ""]);
}
