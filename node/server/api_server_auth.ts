/**
 * Who may call the node's endpoint: only the API server, as the kubelet's authentication and
 * authorization of its port 10250. The API server presents a short-lived JWT signed with the
 * cluster's key (control/apiserver/auth/kubelet_client.ts): issuer the cluster's, `sub`
 * `system:kube-apiserver`, audience `system:node:<this node>`, claim `skiff.dev/kubelet-client`.
 * The node checks it offline against the cluster's published keys (`/openid/v1/jwks`), fetching
 * them again when a token names a key it does not know (at most every 10 s).
 *
 * - no bearer token, or one that is not the cluster's (bad signature, issuer, expired): 401;
 * - a valid cluster token that is not the API server's call to this node (a ServiceAccount
 *   token, a node credential, a call meant for another node): 403.
 *
 * @example
 * ```ts
 * const verifier = new ApiServerVerifier({ nodeName: "n1", issuer, fetchJwks });
 * const refusal = await verifier.check(req); // null: the API server is calling
 * ```
 * @module
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "jose";

/** The subject of the API server's calls to nodes. */
export const API_SERVER_SUBJECT = "system:kube-apiserver";
/** The private claim marking the API server's calls. */
export const KUBELET_CLIENT_CLAIM = "skiff.dev/kubelet-client";
const LEEWAY_SECONDS = 60;

export interface ApiServerVerifierOptions {
  nodeName: string;
  /** The cluster's token issuer (`issuer` of `/.well-known/openid-configuration`). */
  issuer: string;
  /** Reads the cluster's keys (`GET /openid/v1/jwks`). */
  fetchJwks(): Promise<JSONWebKeySet>;
  /** Keys already fetched (skips the first fetch). */
  jwks?: JSONWebKeySet;
  /** Shortest pause between two fetches of the keys (default 10 s). */
  minRefetchMs?: number;
  now?: () => number;
}

/** Whether verified claims are the API server's call to node `nodeName`. Pure. */
export function isApiServerCall(claims: JWTPayload, nodeName: string): boolean {
  const aud = typeof claims.aud === "string" ? [claims.aud] : claims.aud ?? [];
  return claims.sub === API_SERVER_SUBJECT && aud.includes(`system:node:${nodeName}`) &&
    claims[KUBELET_CLIENT_CLAIM] === true;
}

function refusal(status: 401 | 403, message: string): Response {
  const headers: Record<string, string> = { "Content-Type": "text/plain; charset=utf-8" };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="skiff-node"';
  return new Response(message + "\n", { status, headers });
}

export class ApiServerVerifier {
  readonly #opts: ApiServerVerifierOptions;
  #jwks: JSONWebKeySet | undefined;
  #keys: ReturnType<typeof createLocalJWKSet> | undefined;
  #fetchedAt = -Infinity;
  #fetching: Promise<void> | undefined;

  constructor(opts: ApiServerVerifierOptions) {
    this.#opts = opts;
    if (opts.jwks) this.#use(opts.jwks, (opts.now ?? Date.now)());
  }

  #use(jwks: JSONWebKeySet, at: number) {
    this.#jwks = jwks;
    this.#keys = createLocalJWKSet(jwks);
    this.#fetchedAt = at;
  }

  /** Fetches the keys again (one fetch at a time, and not more often than `minRefetchMs`). */
  async #refresh(force = false): Promise<void> {
    const now = (this.#opts.now ?? Date.now)();
    if (!force && now - this.#fetchedAt < (this.#opts.minRefetchMs ?? 10_000)) return;
    this.#fetching ??= this.#opts.fetchJwks().then((jwks) => this.#use(jwks, now)).finally(() => {
      this.#fetching = undefined;
    });
    await this.#fetching;
  }

  /** The verified claims of a cluster token, or null when it is not one. */
  async #verify(token: string): Promise<JWTPayload | null> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return null;
    }
    if (!this.#keys || (kid && !this.#jwks?.keys.some((k) => k.kid === kid))) {
      await this.#refresh(!this.#keys).catch((e) =>
        console.error(`cannot fetch the cluster's keys: ${e?.message ?? e}`)
      );
    }
    if (!this.#keys) return null;
    try {
      const { payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#opts.issuer,
        clockTolerance: LEEWAY_SECONDS,
        currentDate: this.#opts.now ? new Date(this.#opts.now()) : undefined,
      });
      return payload;
    } catch {
      return null;
    }
  }

  /** Null when `req` is the API server's call to this node; otherwise the 401/403 to answer. */
  async check(req: Request): Promise<Response | null> {
    const header = req.headers.get("authorization") ?? "";
    const m = header.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) return refusal(401, "Unauthorized");
    const claims = await this.#verify(m[1]);
    if (!claims) return refusal(401, "Unauthorized");
    if (!isApiServerCall(claims, this.#opts.nodeName)) {
      return refusal(
        403,
        `Forbidden (user=${
          claims.sub ?? ""
        }): only the API server may call the endpoint of node ${this.#opts.nodeName}`,
      );
    }
    return null;
  }
}
