/**
 * The create-only kinds of `authentication.k8s.io/v1`, served without storage:
 *
 * - **TokenReview**: checks `spec.token` with the server's token authenticators (for
 *   `spec.audiences`, default the API server's) and answers `status.authenticated`, `user`,
 *   `audiences` and `error`, as upstream.
 * - **SelfSubjectReview** (`kubectl auth whoami`): answers `status.userInfo`, the caller as the
 *   server sees it (after impersonation).
 * @module
 */
import { badRequest } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { UserInfo } from "../context.ts";
import type { Strategy } from "../rest/strategy.ts";
import { AuthenticationError, type TokenAuthenticator } from "./authenticator.ts";
import { withAuthenticatedGroup } from "./users.ts";

function userJson(u: UserInfo) {
  return { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) };
}

/** The TokenReview strategy over `tokens` (the server's audiences are `apiAudiences`). */
export function tokenReviewStrategy(tokens: TokenAuthenticator, apiAudiences: string[]): Strategy {
  return {
    async create(_server, _ctx, obj: KubeObject) {
      const token = obj.spec?.token;
      if (typeof token !== "string" || !token) throw badRequest("token is required for TokenReview in authentication");
      const asked: string[] = Array.isArray(obj.spec?.audiences) && obj.spec.audiences.length ? obj.spec.audiences : apiAudiences;
      let status: Record<string, unknown>;
      try {
        const r = await tokens.authenticateToken(token, asked);
        if (!r) status = { authenticated: false, user: {}, error: "invalid bearer token" };
        else {
          const audiences = r.audiences ?? asked.filter((a) => apiAudiences.includes(a));
          if (!audiences.length) {
            status = {
              authenticated: false,
              user: {},
              error: `token audiences ${JSON.stringify(apiAudiences)} is invalid for the target audiences ${JSON.stringify(asked)}`,
            };
          } else status = { authenticated: true, user: userJson(withAuthenticatedGroup(r.user)), audiences };
        }
      } catch (e) {
        if (!(e instanceof AuthenticationError)) throw e;
        status = { authenticated: false, user: {}, error: e.message };
      }
      return { ...obj, metadata: { ...obj.metadata }, status };
    },
  };
}

/** The SelfSubjectReview strategy. */
export const selfSubjectReviewStrategy: Strategy = {
  create(_server, ctx, obj: KubeObject) {
    return Promise.resolve({
      ...obj,
      metadata: { ...obj.metadata },
      status: { userInfo: userJson(ctx.user) },
    });
  },
};
