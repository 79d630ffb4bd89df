/**
 * Request authentication: the bearer token of the `Authorization` header, checked by a union of
 * token authenticators (static tokens, bootstrap tokens, ServiceAccount and node JWTs), as
 * upstream's `bearertoken` + `union` authenticators do.
 *
 * A request without an `Authorization: Bearer` header is anonymous (null); a bearer token no
 * authenticator accepts is a 401. The reason is logged, never sent: the client sees upstream's
 * plain `Unauthorized`.
 *
 * @example
 * ```ts
 * const authn = requestAuthenticator(unionTokens([staticTokens(new Map([["s3cret", admin]]))]));
 * await authn.authenticate(new Request("https://x/api", { headers: { Authorization: "Bearer s3cret" } }));
 * ```
 * @module
 */
import { unauthorized } from "../../api/status.ts";
import type { Authenticator, UserInfo } from "../context.ts";
import { withAuthenticatedGroup } from "./users.ts";

/** A token that looked like ours but is not valid; the message is for logs and TokenReview only. */
export class AuthenticationError extends Error {
  override name = "AuthenticationError";
}

/** Who a token authenticates, and for which audiences. */
export interface TokenResult {
  user: UserInfo;
  /** The audiences the token is valid for, among those asked (absent: the API server's). */
  audiences?: string[];
}

/** One kind of bearer token. */
export interface TokenAuthenticator {
  /**
   * Resolves to the user, or null when the token is not of this kind (the next one is tried).
   * Throws {@linkcode AuthenticationError} for a token of this kind that is invalid. `audiences`
   * are the audiences the caller accepts (default: the API server's).
   */
  authenticateToken(token: string, audiences?: string[]): Promise<TokenResult | null>;
}

/**
 * The bearer token of an `Authorization` header value: null when there is none or the scheme is
 * not `Bearer` (the request is then anonymous); throws 401 for an empty bearer token.
 */
export function bearerToken(header: string | null): string | null {
  const auth = (header ?? "").trim();
  if (!auth) return null;
  const parts = auth.split(" ");
  if (parts.length < 2 || parts[0].toLowerCase() !== "bearer") return null;
  if (!parts[1]) throw unauthorized();
  return parts[1];
}

/** Tries each authenticator in order; the first that recognizes the token decides. */
export function unionTokens(list: TokenAuthenticator[]): TokenAuthenticator {
  return {
    async authenticateToken(token, audiences) {
      const errors: string[] = [];
      for (const a of list) {
        try {
          const r = await a.authenticateToken(token, audiences);
          if (r) return r;
        } catch (e) {
          if (!(e instanceof AuthenticationError)) throw e;
          errors.push(e.message);
        }
      }
      if (errors.length) throw new AuthenticationError(errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`);
      return null;
    },
  };
}

/** Static bearer tokens (the admin token, component tokens): a constant-time-enough map lookup. */
export function staticTokens(tokens: ReadonlyMap<string, UserInfo>): TokenAuthenticator {
  return {
    authenticateToken(token) {
      const user = tokens.get(token);
      return Promise.resolve(user ? { user } : null);
    },
  };
}

/** Options of {@linkcode requestAuthenticator}. */
export interface RequestAuthenticatorOptions {
  /** Receives the reason of each refused credential (default: console.error). */
  log?: (message: string) => void;
}

/** The request-level authenticator over a token authenticator. */
export function requestAuthenticator(tokens: TokenAuthenticator, opts: RequestAuthenticatorOptions = {}): Authenticator {
  const log = opts.log ?? ((m: string) => console.error(m));
  return {
    async authenticate(req) {
      const token = bearerToken(req.headers.get("authorization"));
      if (token === null) return null;
      let result: TokenResult | null;
      try {
        result = await tokens.authenticateToken(token);
      } catch (e) {
        if (!(e instanceof AuthenticationError)) throw e;
        log(`Unable to authenticate the request: ${e.message}`);
        throw unauthorized();
      }
      if (!result) throw unauthorized();
      return withAuthenticatedGroup(result.user);
    },
  };
}
