/**
 * Impersonation (upstream `endpoints/filters/impersonation.go`): the `Impersonate-User`,
 * `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-<key>` headers (`kubectl --as`,
 * `--as-group`, `--as-uid`) switch the request's user, after the authorizer allowed the caller
 * the `impersonate` verb on each `users`, `serviceaccounts`, `groups`, `uids` and `userextras/<key>`
 * asked for. Refusals are upstream's 403 (`users "bob" is forbidden: User "alice" cannot
 * impersonate resource "users" in API group "" at the cluster scope`).
 *
 * @example
 * ```ts
 * const acting = await impersonate(req.headers, alice, authorizer); // null when no headers
 * ```
 * @module
 */
import { badRequest } from "../../api/status.ts";
import type { Authorizer, UserInfo } from "../context.ts";
import type { RequestInfo } from "../request_info.ts";
import { forbiddenError } from "./forbidden.ts";
import { ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS, serviceAccountGroups, splitServiceAccount } from "./users.ts";

const EXTRA_PREFIX = "impersonate-extra-";

/** One thing the caller asks to act as, as the authorization check it needs. */
interface Target {
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
}

/** Whether the request carries any impersonation header. */
export function hasImpersonation(headers: Headers): boolean {
  // forEach rather than for-of: Deno's header iterator builds a sorted copy of the list on every
  // request, this is the hot path of every request.
  let found = false;
  headers.forEach((_v, k) => {
    if (!found && k.startsWith("impersonate-")) found = true;
  });
  return found;
}

/** The checks a set of impersonation headers needs, and the user they describe (pure). */
export function impersonationRequest(headers: Headers): { targets: Target[]; user: UserInfo } | null {
  const username = headers.get("impersonate-user") ?? "";
  const groups = headerValues(headers, "impersonate-group");
  const uid = headers.get("impersonate-uid") ?? "";
  const extra: Record<string, string[]> = {};
  for (const [k, v] of headers) {
    if (!k.startsWith(EXTRA_PREFIX)) continue;
    let key: string;
    try {
      key = decodeURIComponent(k.slice(EXTRA_PREFIX.length)).toLowerCase();
    } catch {
      throw badRequest(`invalid impersonation header ${k}: the extra key is not percent-encoded correctly`);
    }
    extra[key] = [...(extra[key] ?? []), ...v.split(",").map((s) => s.trim())];
  }
  const hasExtra = Object.keys(extra).length > 0;
  if (!username) {
    if (groups.length || hasExtra || uid) {
      throw badRequest("requested impersonation of groups, extra or uid without impersonating a user");
    }
    return null;
  }
  const targets: Target[] = [];
  const sa = splitServiceAccount(username);
  if (sa) targets.push({ group: "", resource: "serviceaccounts", namespace: sa.namespace, name: sa.name });
  else targets.push({ group: "", resource: "users", name: username });
  for (const g of groups) targets.push({ group: "", resource: "groups", name: g });
  for (const [key, values] of Object.entries(extra)) {
    for (const v of values) targets.push({ group: "authentication.k8s.io", resource: "userextras", subresource: key, name: v });
  }
  if (uid) targets.push({ group: "authentication.k8s.io", resource: "uids", name: uid });

  let userGroups = [...groups];
  if (!groups.length && sa) userGroups = serviceAccountGroups(sa.namespace);
  if (username === ANONYMOUS.username) {
    if (!userGroups.includes(ALL_UNAUTHENTICATED)) userGroups.push(ALL_UNAUTHENTICATED);
  } else if (!userGroups.includes(ALL_AUTHENTICATED) && !userGroups.includes(ALL_UNAUTHENTICATED)) {
    userGroups.push(ALL_AUTHENTICATED);
  }
  return {
    targets,
    user: { username, groups: userGroups, ...(uid ? { uid } : {}), ...(hasExtra ? { extra } : {}) },
  };
}

function headerValues(headers: Headers, name: string): string[] {
  const v = headers.get(name);
  return v === null ? [] : v.split(",").map((s) => s.trim()).filter(Boolean);
}

/** The RequestInfo of an `impersonate` check. */
function attributes(t: Target): RequestInfo {
  return {
    isResourceRequest: true,
    path: "",
    verb: "impersonate",
    group: t.group,
    version: "",
    namespace: t.namespace ?? "",
    resource: t.resource,
    subresource: t.subresource ?? "",
    name: t.name,
    parts: [],
  };
}

/**
 * The user the request acts as, or null without impersonation headers. Throws 400 for malformed
 * headers and 403 when the caller may not impersonate one of the targets.
 */
export async function impersonate(headers: Headers, caller: UserInfo, authorizer: Authorizer): Promise<UserInfo | null> {
  const request = impersonationRequest(headers);
  if (!request) return null;
  for (const t of request.targets) {
    const info = attributes(t);
    const decision = await authorizer.authorize({ user: caller, info });
    if (!decision.allowed) throw forbiddenError(caller, info, decision.reason);
  }
  return request.user;
}
