/**
 * Authentication and abuse protection of the API server: bearer tokens (static, bootstrap,
 * ServiceAccount and node JWTs), anonymous access to public paths only, impersonation, the audit
 * log, requests in flight and the body size limit. docs/security.md describes the design.
 *
 * @example
 * ```ts
 * const server = new ApiServer({
 *   kv,
 *   authentication: { signingKey: { privateKey: pem }, tokens: { [token]: ADMIN } },
 *   audit: { sink: (line) => console.log(line) },
 * });
 * ```
 * @module
 */
export { AuthenticationError, bearerToken, requestAuthenticator, staticTokens, unionTokens } from "./authenticator.ts";
export type { TokenAuthenticator, TokenResult } from "./authenticator.ts";
export { isPublicPath } from "./anonymous.ts";
export { auditLevel, auditLine, DEFAULT_AUDIT_POLICY } from "./audit.ts";
export type { AuditLevel, AuditOptions, AuditPolicy, AuditRule } from "./audit.ts";
export { MAX_REQUEST_BODY_BYTES } from "./body_limit.ts";
export { BOOTSTRAP_TOKEN_PATTERN, BOOTSTRAP_TOKEN_SECRET_PREFIX, BOOTSTRAP_TOKEN_SECRET_TYPE, bootstrapTokens } from "./bootstrap_tokens.ts";
export { ClusterAuthentication, DEFAULT_ISSUER } from "./cluster.ts";
export type { AuthenticationOptions } from "./cluster.ts";
export { RequestFilters } from "./filters.ts";
export type { Arrival, RequestState } from "./filters.ts";
export { forbiddenError, forbiddenMessage } from "./forbidden.ts";
export { impersonate, impersonationRequest } from "./impersonation.ts";
export { InflightLimiter, isLongRunning } from "./inflight.ts";
export type { InflightLimits } from "./inflight.ts";
export { generateSigningKey, loadSigningKeys } from "./keys.ts";
export type { KeyMaterial, SigningKeys } from "./keys.ts";
export { KUBELET_CLIENT_SUBJECT, NodeCredentials } from "./node_credentials.ts";
export * from "./users.ts";
