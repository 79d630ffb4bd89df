/**
 * Upstream's denial: 403 Forbidden with the message kube-apiserver writes
 * (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go `forbiddenMessage`,
 * wrapped by `apierrors.NewForbidden`):
 *
 * - `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"`
 * - `nodes "n1" is forbidden: User "bob" cannot get resource "nodes" in API group "" at the cluster scope`
 * - `pods "web" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "b"`
 * - `forbidden: User "bob" cannot get path "/metrics"`
 *
 * followed by `: <reason>` when the authorizers gave one.
 * @module
 */
import { ApiError, type Status } from "../../api/status.ts";
import type { Attributes } from "./types.ts";

/** `forbiddenMessage`: the sentence after `is forbidden: `. */
export function forbiddenMessage(
  a: Pick<
    Attributes,
    "user" | "verb" | "resourceRequest" | "path" | "group" | "namespace" | "resource" | "subresource"
  >,
): string {
  const user = JSON.stringify(a.user.username);
  if (!a.resourceRequest) return `User ${user} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : "at the cluster scope";
  return `User ${user} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${
    JSON.stringify(a.group)
  } ${where}`;
}

/**
 * The 403 the API server answers when authorization denies a request: message and Status
 * details exactly as upstream (`details.kind` is the resource, `details.name` the object's name;
 * empty fields are omitted).
 */
export function forbiddenError(a: Attributes, reason = ""): ApiError {
  const msg = forbiddenMessage(a) + (reason ? `: ${reason}` : "");
  const details: NonNullable<Status["details"]> = {};
  let message: string;
  if (!a.resourceRequest || !a.resource) {
    message = `forbidden: ${msg}`;
  } else {
    const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
    message = a.name
      ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${msg}`
      : `${qualified} is forbidden: ${msg}`;
    if (a.name) details.name = a.name;
    if (a.group) details.group = a.group;
    details.kind = a.resource;
  }
  return new ApiError({ code: 403, reason: "Forbidden", message, details });
}
