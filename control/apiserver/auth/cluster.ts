/**
 * The cluster's authentication, assembled from its options: static tokens (the admin token),
 * bootstrap tokens, ServiceAccount JWTs and node credentials, in that order; plus what serves
 * them (TokenRequest on `serviceaccounts/token` and `nodes/token`, TokenReview,
 * SelfSubjectReview, issuer discovery).
 *
 * @example
 * ```ts
 * const auth = await ClusterAuthentication.create(
 *   { signingKey: { privateKey: pem }, tokens: { [adminToken]: { username: "admin", groups: ["system:masters"] } } },
 *   (resource, ns, name) => store.get(…),
 * );
 * new ApiServer({ kv, authenticator: auth.authenticator });
 * ```
 * @module
 */
import type { Authenticator, UserInfo } from "../context.ts";
import {
  requestAuthenticator,
  staticTokens,
  type TokenAuthenticator,
  unionTokens,
} from "./authenticator.ts";
import { bootstrapTokens } from "./bootstrap_tokens.ts";
import { JwtCodec } from "./jwt.ts";
import { type KeyMaterial, loadSigningKeys, type SigningKeys } from "./keys.ts";
import { NODE_CREDENTIAL_TTL_SECONDS, NodeCredentials } from "./node_credentials.ts";
import { type ObjectLookup, ServiceAccountTokens } from "./service_account.ts";

/** The issuer kubeadm clusters use; tokens name it in `iss`. */
export const DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/** What turns authentication on. */
export interface AuthenticationOptions {
  /** Signs ServiceAccount tokens and node credentials; older public keys still verify. */
  signingKey: KeyMaterial;
  /** The `iss` of issued tokens (default {@linkcode DEFAULT_ISSUER}). */
  issuer?: string;
  /** The audiences the API server accepts (default: the issuer). */
  audiences?: string[];
  /** Static bearer tokens and their users (the admin token, component tokens). */
  tokens?: Record<string, UserInfo>;
  /** Longest token TokenRequest issues (default 1 year; longer requests are capped). */
  maxTokenSeconds?: number;
  /** Lifetime of node credentials (default 30 days). */
  nodeCredentialSeconds?: number;
  /** Receives the reason of each refused credential (default console.error). */
  log?: (message: string) => void;
}

export class ClusterAuthentication {
  readonly issuer: string;
  readonly audiences: string[];
  readonly keys: SigningKeys;
  readonly jwt: JwtCodec;
  readonly serviceAccounts: ServiceAccountTokens;
  readonly nodes: NodeCredentials;
  /** Every token kind, in order (what TokenReview checks). */
  readonly tokens: TokenAuthenticator;
  /** The request authenticator (bearer tokens). */
  readonly authenticator: Authenticator;
  readonly maxTokenSeconds: number;
  readonly nodeCredentialSeconds: number;

  private constructor(opts: AuthenticationOptions, keys: SigningKeys, lookup: ObjectLookup, now: () => number) {
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.audiences = opts.audiences?.length ? opts.audiences : [this.issuer];
    this.keys = keys;
    this.jwt = new JwtCodec(keys, { issuer: this.issuer, now });
    this.serviceAccounts = new ServiceAccountTokens(this.jwt, lookup, { audiences: this.audiences });
    this.nodes = new NodeCredentials(this.jwt, { audiences: this.audiences });
    this.tokens = unionTokens([
      staticTokens(new Map(Object.entries(opts.tokens ?? {}))),
      bootstrapTokens(lookup, now),
      this.serviceAccounts,
      this.nodes,
    ]);
    this.authenticator = requestAuthenticator(this.tokens, { log: opts.log });
    this.maxTokenSeconds = opts.maxTokenSeconds ?? 365 * 24 * 3600;
    this.nodeCredentialSeconds = opts.nodeCredentialSeconds ?? NODE_CREDENTIAL_TTL_SECONDS;
  }

  /** Imports the keys and assembles the authenticators; `lookup` reads objects tokens are bound to. */
  static async create(
    opts: AuthenticationOptions,
    lookup: ObjectLookup,
    now: () => number = Date.now,
  ): Promise<ClusterAuthentication> {
    return new ClusterAuthentication(opts, await loadSigningKeys(opts.signingKey), lookup, now);
  }
}
