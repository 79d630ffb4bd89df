/**
 * ServiceAccount tokens: JWTs with upstream's claims (`iss`, `sub`, `aud`, `exp`/`nbf`/`iat`,
 * `jti`, and the private `kubernetes.io` claim naming the namespace, the ServiceAccount and the
 * pod, secret or node the token is bound to, each with its uid). Issued by TokenRequest and
 * verified on every request: the ServiceAccount must still exist with the same uid, and a bound
 * object too — a token bound to a deleted pod is refused ("invalidated"), as upstream's
 * `validator.Validate` does.
 *
 * @example
 * ```ts
 * const sa = new ServiceAccountTokens(jwt, lookup, { audiences: [issuer] });
 * const { token } = await sa.issue({ namespace: "default", name: "builder", uid, audiences: [issuer], ttlSeconds: 3600 });
 * await sa.authenticateToken(token); // { user: { username: "system:serviceaccount:default:builder", … } }
 * ```
 * @module
 */
import type { JWTPayload } from "jose";
import type { KubeObject } from "../../api/types.ts";
import { AuthenticationError, type TokenAuthenticator, type TokenResult } from "./authenticator.ts";
import { type JwtCodec, LEEWAY_SECONDS, looksLikeJwt } from "./jwt.ts";
import { serviceAccountUser, serviceAccountUsername } from "./users.ts";

/** Reads the objects tokens are bound to (the API server's store). */
export type ObjectLookup = (
  resource: "serviceaccounts" | "pods" | "secrets" | "nodes",
  namespace: string,
  name: string,
) => Promise<KubeObject | null>;

/** An object a token is bound to. */
export interface BoundObject {
  kind: "Pod" | "Secret" | "Node";
  name: string;
  uid: string;
}

/** What a ServiceAccount token is issued for. */
export interface ServiceAccountTokenSpec {
  namespace: string;
  name: string;
  uid: string;
  audiences: string[];
  ttlSeconds: number;
  bound?: BoundObject;
  /** The node of a bound pod (added as upstream does for pod-bound tokens). */
  node?: { name: string; uid: string };
}

interface Ref {
  name?: string;
  uid?: string;
}

interface KubernetesClaim {
  namespace?: string;
  serviceaccount?: Ref;
  pod?: Ref;
  secret?: Ref;
  node?: Ref;
}

export class ServiceAccountTokens implements TokenAuthenticator {
  readonly #jwt: JwtCodec;
  readonly #lookup: ObjectLookup;
  readonly #audiences: string[];

  constructor(jwt: JwtCodec, lookup: ObjectLookup, opts: { audiences: string[] }) {
    this.#jwt = jwt;
    this.#lookup = lookup;
    this.#audiences = opts.audiences;
  }

  /** Signs a token; resolves to it and its expiry (ms since the epoch). */
  async issue(spec: ServiceAccountTokenSpec): Promise<{ token: string; expiresAt: number }> {
    const k8s: KubernetesClaim = { namespace: spec.namespace, serviceaccount: { name: spec.name, uid: spec.uid } };
    if (spec.bound?.kind === "Pod") k8s.pod = { name: spec.bound.name, uid: spec.bound.uid };
    if (spec.bound?.kind === "Secret") k8s.secret = { name: spec.bound.name, uid: spec.bound.uid };
    if (spec.bound?.kind === "Node") k8s.node = { name: spec.bound.name, uid: spec.bound.uid };
    if (spec.node && !k8s.node) k8s.node = spec.node;
    const token = await this.#jwt.sign({
      sub: serviceAccountUsername(spec.namespace, spec.name),
      aud: spec.audiences,
      jti: crypto.randomUUID(),
      "kubernetes.io": k8s,
    }, spec.ttlSeconds);
    return { token, expiresAt: (this.#jwt.nowSeconds() + spec.ttlSeconds) * 1000 };
  }

  async authenticateToken(token: string, audiences = this.#audiences): Promise<TokenResult | null> {
    if (!looksLikeJwt(token)) return null;
    const payload = await this.#jwt.verify(token, audiences);
    const k8s = payload["kubernetes.io"] as KubernetesClaim | undefined;
    if (!k8s || typeof k8s !== "object") return null; // a JWT of another kind (a node credential)
    const namespace = k8s.namespace ?? "";
    const sa = k8s.serviceaccount ?? {};
    if (!namespace || !sa.name || payload.sub !== serviceAccountUsername(namespace, sa.name)) {
      throw new AuthenticationError("service account token claims could not be validated");
    }
    const extra = await this.#validate(payload, namespace, k8s);
    const aud = typeof payload.aud === "string" ? [payload.aud] : payload.aud ?? [];
    return {
      user: serviceAccountUser(namespace, sa.name, sa.uid ?? "", extra),
      audiences: aud.filter((a) => audiences.includes(a)),
    };
  }

  /** Upstream's checks of the objects the token names; returns the user's extra. */
  async #validate(payload: JWTPayload, namespace: string, k8s: KubernetesClaim): Promise<Record<string, string[]>> {
    const cutoff = this.#jwt.nowSeconds() * 1000 - LEEWAY_SECONDS * 1000;
    const deleted = (o: KubeObject) =>
      o.metadata.deletionTimestamp !== undefined && Date.parse(o.metadata.deletionTimestamp) < cutoff;
    const sa = k8s.serviceaccount!;
    // One round of reads: the account and the objects the token is bound to.
    const [account, secret, pod] = await Promise.all([
      this.#lookup("serviceaccounts", namespace, sa.name!),
      k8s.secret ? this.#lookup("secrets", namespace, k8s.secret.name ?? "") : null,
      k8s.pod ? this.#lookup("pods", namespace, k8s.pod.name ?? "") : null,
    ]);
    if (!account) throw new AuthenticationError(`serviceaccounts "${sa.name}" not found`);
    if (deleted(account)) throw new AuthenticationError(`service account ${namespace}/${sa.name} has been deleted`);
    if (account.metadata.uid !== sa.uid) {
      throw new AuthenticationError(`service account UID (${account.metadata.uid}) does not match claim (${sa.uid})`);
    }
    const extra: Record<string, string[]> = {};
    if (k8s.secret) {
      if (!secret || deleted(secret)) throw new AuthenticationError("service account token has been invalidated");
      if (secret.metadata.uid !== k8s.secret.uid) {
        throw new AuthenticationError(
          `secret UID (${secret.metadata.uid}) does not match service account secret ref claim (${k8s.secret.uid})`,
        );
      }
    }
    if (k8s.pod) {
      if (!pod || deleted(pod)) throw new AuthenticationError("service account token has been invalidated");
      if (pod.metadata.uid !== k8s.pod.uid) {
        throw new AuthenticationError(`pod UID (${pod.metadata.uid}) does not match service account pod ref claim (${k8s.pod.uid})`);
      }
      extra["authentication.kubernetes.io/pod-name"] = [k8s.pod.name!];
      extra["authentication.kubernetes.io/pod-uid"] = [k8s.pod.uid!];
    }
    if (k8s.node?.name) {
      extra["authentication.kubernetes.io/node-name"] = [k8s.node.name];
      if (k8s.node.uid) extra["authentication.kubernetes.io/node-uid"] = [k8s.node.uid];
    }
    if (typeof payload.jti === "string") extra["authentication.kubernetes.io/credential-id"] = [`JTI=${payload.jti}`];
    return extra;
  }
}
