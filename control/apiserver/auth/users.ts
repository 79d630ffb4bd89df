/**
 * Well-known users and groups of the Kubernetes authentication layer, and the small pure helpers
 * that build them (upstream `k8s.io/apiserver/pkg/authentication/user` and `.../serviceaccount`).
 *
 * @example
 * ```ts
 * serviceAccountUser("default", "builder", "uid-1");
 * // { username: "system:serviceaccount:default:builder", uid: "uid-1",
 * //   groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"] }
 * ```
 * @module
 */
import type { UserInfo } from "../context.ts";

export const ALL_AUTHENTICATED = "system:authenticated";
export const ALL_UNAUTHENTICATED = "system:unauthenticated";
export const SYSTEM_MASTERS = "system:masters";
export const NODES_GROUP = "system:nodes";
export const BOOTSTRAPPERS_GROUP = "system:bootstrappers";
export const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";
export const NODE_PREFIX = "system:node:";

/** The user of requests without credentials (reaches only the public paths). */
export const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: [ALL_UNAUTHENTICATED] };

/** The API server's own loopback identity (bootstrap objects), a member of system:masters. */
export const LOOPBACK: UserInfo = { username: "system:apiserver", groups: [SYSTEM_MASTERS, ALL_AUTHENTICATED] };

/** The in-process scheduler's identity. */
export const KUBE_SCHEDULER: UserInfo = { username: "system:kube-scheduler", groups: [ALL_AUTHENTICATED] };

/** The in-process controller manager's identity. */
export const KUBE_CONTROLLER_MANAGER: UserInfo = {
  username: "system:kube-controller-manager",
  groups: [ALL_AUTHENTICATED],
};

/** `system:serviceaccount:<ns>:<name>`. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

/** The groups of a ServiceAccount user (without system:authenticated). */
export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

/** Splits `system:serviceaccount:<ns>:<name>`; null for any other username. */
export function splitServiceAccount(username: string): { namespace: string; name: string } | null {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return null;
  const parts = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(":");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
  return { namespace: parts[0], name: parts[1] };
}

/** The user a ServiceAccount token authenticates as. */
export function serviceAccountUser(
  namespace: string,
  name: string,
  uid: string,
  extra?: Record<string, string[]>,
): UserInfo {
  return {
    username: serviceAccountUsername(namespace, name),
    uid,
    groups: [...serviceAccountGroups(namespace), ALL_AUTHENTICATED],
    ...(extra && Object.keys(extra).length ? { extra } : {}),
  };
}

/** The user a node credential authenticates as: `system:node:<name>` in `system:nodes`. */
export function nodeUser(name: string): UserInfo {
  return { username: `${NODE_PREFIX}${name}`, groups: [NODES_GROUP, ALL_AUTHENTICATED] };
}

/** The node name of a `system:node:<name>` user, or null. */
export function nodeNameOf(user: UserInfo): string | null {
  if (!user.username.startsWith(NODE_PREFIX) || !user.groups.includes(NODES_GROUP)) return null;
  return user.username.slice(NODE_PREFIX.length) || null;
}

/** Adds `system:authenticated` unless the user is anonymous or already has it (upstream's authenticator group adder). */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.username === ANONYMOUS.username) return user;
  if (user.groups.includes(ALL_AUTHENTICATED) || user.groups.includes(ALL_UNAUTHENTICATED)) return user;
  return { ...user, groups: [...user.groups, ALL_AUTHENTICATED] };
}
