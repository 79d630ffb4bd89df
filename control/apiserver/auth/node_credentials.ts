/**
 * Node credentials, and the API server's credential towards node agents.
 *
 * Upstream kubelets get client certificates through a CSR that a bootstrap token may create.
 * `Deno.serve` cannot verify client certificates, so a Skiff node credential is a bearer JWT
 * signed with the cluster's signing key: `sub` `system:node:<name>`, the private claim
 * `skiff.dev/node`, the API server's audiences, 30 days by default. It is obtained by
 * exchanging a bootstrap token at `POST /api/v1/nodes/<name>/token` (a TokenRequest) and renewed
 * the same way with the node credential itself before it expires (docs/security.md).
 *
 * The API server calls node agents with a short-lived JWT (`sub` `system:kube-apiserver`,
 * audience `system:node:<name>`, 5 minutes, private claim `skiff.dev/kubelet-client`); a node
 * verifies it with the cluster's JWKS (`/openid/v1/jwks`). Neither kind is accepted where the
 * other is expected: the API server's authenticator needs the `skiff.dev/node` (or
 * `kubernetes.io`) claim, a node needs `sub: system:kube-apiserver` and its own audience.
 * @module
 */
import { AuthenticationError, type TokenAuthenticator, type TokenResult } from "./authenticator.ts";
import { type JwtCodec, looksLikeJwt } from "./jwt.ts";
import { NODE_PREFIX, nodeUser } from "./users.ts";

/** Default lifetime of a node credential. */
export const NODE_CREDENTIAL_TTL_SECONDS = 30 * 24 * 3600;
/** Lifetime of the API server's credential for one node call. */
export const KUBELET_CLIENT_TTL_SECONDS = 300;
/** The subject of the API server's calls to node agents. */
export const KUBELET_CLIENT_SUBJECT = "system:kube-apiserver";
const NODE_CLAIM = "skiff.dev/node";
const KUBELET_CLIENT_CLAIM = "skiff.dev/kubelet-client";

export class NodeCredentials implements TokenAuthenticator {
  readonly #jwt: JwtCodec;
  readonly #audiences: string[];
  #kubeletClient = new Map<string, { token: string; renewAt: number }>();

  constructor(jwt: JwtCodec, opts: { audiences: string[] }) {
    this.#jwt = jwt;
    this.#audiences = opts.audiences;
  }

  /** A credential for node `name`; resolves to the token and its expiry (ms). */
  async issue(name: string, ttlSeconds = NODE_CREDENTIAL_TTL_SECONDS): Promise<{ token: string; expiresAt: number }> {
    const token = await this.#jwt.sign({
      sub: `${NODE_PREFIX}${name}`,
      aud: this.#audiences,
      jti: crypto.randomUUID(),
      [NODE_CLAIM]: { name },
    }, ttlSeconds);
    return { token, expiresAt: (this.#jwt.nowSeconds() + ttlSeconds) * 1000 };
  }

  async authenticateToken(token: string, audiences = this.#audiences): Promise<TokenResult | null> {
    if (!looksLikeJwt(token)) return null;
    const payload = await this.#jwt.verify(token, audiences);
    const claim = payload[NODE_CLAIM] as { name?: string } | undefined;
    if (!claim || typeof claim !== "object") return null;
    if (!claim.name || payload.sub !== `${NODE_PREFIX}${claim.name}`) {
      throw new AuthenticationError("node credential claims could not be validated");
    }
    const aud = typeof payload.aud === "string" ? [payload.aud] : payload.aud ?? [];
    return { user: nodeUser(claim.name), audiences: aud.filter((a) => audiences.includes(a)) };
  }

  /** The bearer token the API server presents to node `name` (cached until 1 minute before expiry). */
  async kubeletClientToken(name: string): Promise<string> {
    const now = this.#jwt.nowSeconds() * 1000;
    const cached = this.#kubeletClient.get(name);
    if (cached && cached.renewAt > now) return cached.token;
    const token = await this.#jwt.sign({
      sub: KUBELET_CLIENT_SUBJECT,
      aud: [`${NODE_PREFIX}${name}`],
      [KUBELET_CLIENT_CLAIM]: true,
    }, KUBELET_CLIENT_TTL_SECONDS);
    this.#kubeletClient.set(name, { token, renewAt: now + (KUBELET_CLIENT_TTL_SECONDS - 60) * 1000 });
    return token;
  }
}
