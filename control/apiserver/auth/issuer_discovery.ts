/**
 * ServiceAccount issuer discovery (upstream's `/.well-known/openid-configuration` and
 * `/openid/v1/jwks`): the public keys that verify the cluster's JWTs, so that node agents (and
 * anyone holding a cluster credential) can check them offline.
 *
 * @example
 * ```ts
 * openIdConfiguration("https://kubernetes.default.svc.cluster.local", "https://127.0.0.1:6443", "ES256");
 * ```
 * @module
 */

/** The OpenID provider configuration document. */
export function openIdConfiguration(issuer: string, externalUrl: string, alg: string) {
  return {
    issuer,
    jwks_uri: `${externalUrl.replace(/\/$/, "")}/openid/v1/jwks`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [alg],
  };
}
