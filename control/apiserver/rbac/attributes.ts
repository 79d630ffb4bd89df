/**
 * From the pipeline's {@link AuthorizationAttributes} (user + `RequestInfo`) to the normalized
 * {@link Attributes} the authorizers decide on, as upstream's `RequestInfoFactory` and
 * `WithAuthorization` do:
 *
 * - connect subresources (`pods/exec`, `attach`, `portforward`, `proxy`) are authorized with the
 *   HTTP verb upstream sees: `create` (kubectl POSTs them; websocket upgrades are checked as
 *   `create` too, as upstream's `AuthorizePodWebsocketUpgradeCreatePermission`);
 * - a list or watch with the field selector `metadata.name=<name>` is a request for that name
 *   (kubelets and `kubectl get x -w` watch single objects this way);
 * - the field and label selectors ride along for authorizers that use them (the node authorizer
 *   allows a node to list only pods with `spec.nodeName=<itself>`).
 * @module
 */
import type { AuthorizationAttributes } from "../context.ts";
import type { Attributes } from "./types.ts";

/** The selectors a request carries, when the pipeline passes them (upstream 1.31+ does). */
export interface SelectorAttributes {
  fieldSelector?: string | null;
  labelSelector?: string | null;
}

/** Whether a path segment name is valid (`path.IsValidPathSegmentName`). */
function validSegment(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("%");
}

/** The value a field selector requires for `field` with `=`/`==`, if any. Pure. */
export function requiredField(selector: string, field: string): string | undefined {
  for (const part of selector.split(",")) {
    const m = part.match(/^\s*([^=!\s]+)\s*(==|=)\s*(.*?)\s*$/);
    if (m && m[1] === field) return m[3].replace(/\\(.)/g, "$1");
  }
  return undefined;
}

/** Normalizes the pipeline's attributes. Pure. */
export function attributesFrom(a: AuthorizationAttributes & SelectorAttributes): Attributes {
  const info = a.info;
  const extra = info as unknown as SelectorAttributes;
  const fieldSelector = a.fieldSelector ?? extra.fieldSelector ?? "";
  const labelSelector = a.labelSelector ?? extra.labelSelector ?? "";
  let verb = info.verb;
  if (info.isResourceRequest && verb === "connect") verb = "create";
  let name = info.name;
  if ((verb === "list" || verb === "watch") && !name && fieldSelector) {
    const n = requiredField(fieldSelector, "metadata.name");
    if (n !== undefined && validSegment(n)) name = n;
  }
  return {
    user: a.user,
    verb,
    resourceRequest: info.isResourceRequest,
    path: info.path,
    group: info.group,
    version: info.version,
    namespace: info.namespace,
    resource: info.resource,
    subresource: info.subresource,
    name,
    fieldSelector,
    labelSelector,
  };
}
