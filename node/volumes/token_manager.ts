/**
 * ServiceAccount tokens for projected volumes, as the kubelet's token manager
 * (`pkg/kubelet/token/token_manager.go`): one TokenRequest per pod, account, audience and
 * lifetime — `POST /api/v1/namespaces/<ns>/serviceaccounts/<sa>/token` with the source's
 * `audience` (none: the API server's own), its `expirationSeconds` (default 3600) and
 * `boundObjectRef` the pod with its UID, so the token dies with the pod. A token is reused until
 * 80 % of its lifetime has passed or it is 24 h old, then requested again; the volume is rewritten
 * atomically with the new one at the next sync, which {@linkcode TokenManager.nextRefresh} tells
 * the kubelet when to run.
 *
 * @example
 * ```ts
 * const tokens = new TokenManager((ns, sa, body) => requestToken(client, ns, sa, body));
 * const byKey = await tokens.tokensFor(pod, [{ path: "token", expirationSeconds: 3607 }]);
 * ```
 * @module
 */
import type { Pod, ServiceAccountTokenProjection } from "kubernetes-types/core/v1.d.ts";

/** Upstream's `maxTTL`: a token older than this is refreshed whatever its lifetime. */
export const MAX_TOKEN_AGE_MS = 24 * 3600_000;
/** The API's default `expirationSeconds` of a projection. */
export const DEFAULT_EXPIRATION_SECONDS = 3600;

/** The TokenRequest object sent for a pod's projection. */
export interface TokenRequestBody {
  apiVersion: "authentication.k8s.io/v1";
  kind: "TokenRequest";
  spec: {
    audiences?: string[];
    expirationSeconds: number;
    boundObjectRef: { apiVersion: "v1"; kind: "Pod"; name: string; uid: string };
  };
}

/** What the API server answered (`status` and the effective `spec.expirationSeconds`). */
export interface IssuedToken {
  token: string;
  /** RFC 3339. */
  expirationTimestamp: string;
  expirationSeconds?: number;
}

/** Sends a TokenRequest for ServiceAccount `serviceAccount` of `namespace`. */
export type TokenRequester = (
  namespace: string,
  serviceAccount: string,
  body: TokenRequestBody,
) => Promise<IssuedToken>;

/** The key of a projection within a pod: its audience and lifetime. */
export function tokenKey(source: ServiceAccountTokenProjection): string {
  return `${source.audience ?? ""}|${source.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS}`;
}

/** The TokenRequest for `source` of `pod`. Pure. */
export function tokenRequestFor(pod: Pod, source: ServiceAccountTokenProjection): TokenRequestBody {
  return {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {
      ...(source.audience ? { audiences: [source.audience] } : {}),
      expirationSeconds: source.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS,
      boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, uid: pod.metadata!.uid! },
    },
  };
}

/**
 * When a token must be replaced (ms): 80 % into its lifetime, or 24 h after it was issued,
 * whichever comes first (upstream `requiresRefresh`, without its jitter). Pure.
 */
export function refreshTime(token: { expiresAt: number; lifetimeMs: number }): number {
  const issuedAt = token.expiresAt - token.lifetimeMs;
  return issuedAt + Math.min(token.lifetimeMs * 0.8, MAX_TOKEN_AGE_MS);
}

interface Cached {
  token: string;
  refreshAt: number;
  expiresAt: number;
}

export class TokenManager {
  readonly #request: TokenRequester;
  readonly #now: () => number;
  /** Pod UID → projection key → token. */
  readonly #tokens = new Map<string, Map<string, Cached>>();

  constructor(request: TokenRequester, opts: { now?: () => number } = {}) {
    this.#request = request;
    this.#now = opts.now ?? Date.now;
  }

  /** The tokens of `sources` for `pod`, by {@linkcode tokenKey}; requests those missing or due. Throws the API's error. */
  async tokensFor(pod: Pod, sources: ServiceAccountTokenProjection[]): Promise<Map<string, string>> {
    const uid = pod.metadata!.uid!;
    let cache = this.#tokens.get(uid);
    if (!cache) this.#tokens.set(uid, cache = new Map());
    const out = new Map<string, string>();
    for (const source of sources) {
      const key = tokenKey(source);
      let cached = cache.get(key);
      const now = this.#now();
      if (!cached || now >= cached.refreshAt || now >= cached.expiresAt) {
        const body = tokenRequestFor(pod, source);
        const sa = pod.spec?.serviceAccountName || "default";
        const issued = await this.#request(pod.metadata!.namespace ?? "default", sa, body);
        const expiresAt = Date.parse(issued.expirationTimestamp);
        if (!issued.token || Number.isNaN(expiresAt)) {
          throw new Error("the TokenRequest answer carries no token");
        }
        const lifetimeMs = (issued.expirationSeconds ?? body.spec.expirationSeconds) * 1000;
        cached = { token: issued.token, expiresAt, refreshAt: refreshTime({ expiresAt, lifetimeMs }) };
        cache.set(key, cached);
      }
      out.set(key, cached.token);
    }
    return out;
  }

  /** When the pod's earliest token is due (ms), or undefined when it holds none. */
  nextRefresh(uid: string): number | undefined {
    const cache = this.#tokens.get(uid);
    if (!cache?.size) return undefined;
    return Math.min(...[...cache.values()].map((c) => c.refreshAt));
  }

  /** Forgets a pod's tokens (it is gone). */
  forgetPod(uid: string): void {
    this.#tokens.delete(uid);
  }
}
