/**
 * Bootstrap tokens (upstream `plugin/pkg/auth/authenticator/token/bootstrap`): a token
 * `<id>.<secret>` (`[a-z0-9]{6}.[a-z0-9]{16}`) is valid while the Secret
 * `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token` holds the same
 * `token-id` and `token-secret`, has `usage-bootstrap-authentication: "true"` and has not passed
 * its `expiration`. It authenticates as `system:bootstrap:<id>` in `system:bootstrappers` plus
 * the Secret's `auth-extra-groups`. `./skiff node join --token` exchanges one for a node
 * credential.
 *
 * @example
 * ```ts
 * const boot = bootstrapTokens(lookup, () => Date.now());
 * await boot.authenticateToken("abcdef.0123456789abcdef"); // { user: { username: "system:bootstrap:abcdef", … } }
 * ```
 * @module
 */
import { AuthenticationError, type TokenAuthenticator } from "./authenticator.ts";
import type { ObjectLookup } from "./service_account.ts";
import { BOOTSTRAPPERS_GROUP } from "./users.ts";

export const BOOTSTRAP_TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const BOOTSTRAP_TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token";
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = "bootstrap-token-";

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  if (typeof v !== "string") return undefined;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** Constant-time string comparison. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The bootstrap-token authenticator over the kube-system Secrets. */
export function bootstrapTokens(lookup: ObjectLookup, now: () => number = Date.now): TokenAuthenticator {
  return {
    async authenticateToken(token) {
      const m = token.match(BOOTSTRAP_TOKEN_PATTERN);
      if (!m) return null;
      const [, id, secret] = m;
      const name = `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`;
      const s = await lookup("secrets", "kube-system", name);
      const refuse = (why: string) => new AuthenticationError(`bootstrap token ${id}: ${why}`);
      if (!s) throw refuse(`secret kube-system/${name} not found`);
      if (s.metadata.deletionTimestamp) throw refuse("the secret is being deleted");
      if (s.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) throw refuse(`the secret's type is not ${BOOTSTRAP_TOKEN_SECRET_TYPE}`);
      const data = s.data as Record<string, string> | undefined;
      if (decode(data, "token-id") !== id || !sameSecret(decode(data, "token-secret") ?? "", secret)) {
        throw refuse("the token does not match the secret");
      }
      const expiration = decode(data, "expiration");
      if (expiration !== undefined) {
        const at = Date.parse(expiration);
        if (Number.isNaN(at) || at < now()) throw refuse("the token has expired");
      }
      if (decode(data, "usage-bootstrap-authentication") !== "true") {
        throw refuse("the token may not be used for authentication");
      }
      const extra = (decode(data, "auth-extra-groups") ?? "").split(",").map((g) => g.trim()).filter(Boolean);
      if (extra.some((g) => !/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(g))) {
        throw refuse("auth-extra-groups may only hold system:bootstrappers:* groups");
      }
      return { user: { username: `system:bootstrap:${id}`, groups: [BOOTSTRAPPERS_GROUP, ...extra] } };
    },
  };
}
