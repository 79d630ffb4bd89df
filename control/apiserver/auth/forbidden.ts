/**
 * Upstream's 403 for a denied request (`responsewriters.Forbidden` and `forbiddenMessage`):
 * `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"`.
 *
 * @example
 * ```ts
 * forbiddenMessage(alice, info); // 'User "alice" cannot list resource "pods" in API group "" in the namespace "b"'
 * ```
 * @module
 */
import { ApiError, forbidden } from "../../api/status.ts";
import type { UserInfo } from "../context.ts";
import type { RequestInfo } from "../request_info.ts";

/** The message of a denial, without the reason. */
export function forbiddenMessage(user: UserInfo, info: RequestInfo): string {
  if (!info.isResourceRequest) return `User "${user.username}" cannot ${info.verb} path "${info.path}"`;
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const where = info.namespace ? `in the namespace "${info.namespace}"` : "at the cluster scope";
  return `User "${user.username}" cannot ${info.verb} resource "${resource}" in API group "${info.group}" ${where}`;
}

/** The 403 Forbidden Status of a denial; `reason` (the authorizer's) is appended after a colon. */
export function forbiddenError(user: UserInfo, info: RequestInfo, reason?: string): ApiError {
  const message = forbiddenMessage(user, info) + (reason ? `: ${reason}` : "");
  if (!info.isResourceRequest) return new ApiError({ code: 403, reason: "Forbidden", message: `forbidden: ${message}` });
  return forbidden({ group: info.group, resource: info.resource }, info.name, message);
}
