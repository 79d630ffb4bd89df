/**
 * The audit log: one JSON line per request in upstream's `audit.k8s.io/v1` Event shape (user,
 * groups, impersonated user, verb, objectRef, response code, the authorization decision as the
 * `authorization.k8s.io/decision` annotation, timestamps) plus the latency as the
 * `skiff.dev/latency-ms` annotation. The level of each request comes from a policy, as upstream's:
 * the first rule matching the user, group, verb, resource and namespace decides; `None` writes
 * nothing, `Metadata` writes the event, `Request` adds the request object. Long-running requests
 * (watch, logs) write `ResponseStarted` when they start and `ResponseComplete` when they end.
 *
 * The control plane writes to a sink function it is given: `./skiff up` appends to
 * `<data-dir>/logs/audit.log`, Deno Deploy prints to stdout.
 *
 * @example
 * ```ts
 * const policy: AuditPolicy = { rules: [{ level: "None", verbs: ["watch"] }, { level: "Metadata" }] };
 * auditLevel(policy, user, info); // "Metadata"
 * ```
 * @module
 */
import type { UserInfo } from "../context.ts";
import type { RequestInfo } from "../request_info.ts";

export type AuditLevel = "None" | "Metadata" | "Request";

/** One policy rule; every given field must match (lists: any element; `*` matches anything). */
export interface AuditRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  /** Resources by API group; `resources` entries may be `pods/log` or `*`. */
  resources?: { group?: string; resources?: string[] }[];
  namespaces?: string[];
  /** Non-resource paths; a trailing `*` is a prefix match. */
  nonResourceURLs?: string[];
}

export interface AuditPolicy {
  rules: AuditRule[];
}

/** What the control plane is given to audit requests. */
export interface AuditOptions {
  /** Receives one JSON line (without newline) per event. */
  sink: (line: string) => void;
  policy?: AuditPolicy;
}

/**
 * The default policy: nothing for health probes and the components' lease renewals; metadata
 * only for events, secrets, configmaps and token requests (their bodies are credentials); the
 * request body of other writes; metadata for reads.
 */
export const DEFAULT_AUDIT_POLICY: AuditPolicy = {
  rules: [
    { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"] },
    // Leader-election and heartbeat renewals of the components: frequent and uninteresting.
    {
      level: "None",
      users: ["system:kube-scheduler", "system:kube-controller-manager"],
      verbs: ["get", "update"],
      resources: [{ group: "coordination.k8s.io", resources: ["leases"] }],
    },
    { level: "None", userGroups: ["system:nodes"], verbs: ["get", "update", "patch"], resources: [{ group: "coordination.k8s.io", resources: ["leases"] }] },
    { level: "Metadata", resources: [{ group: "", resources: ["events"] }, { group: "events.k8s.io", resources: ["events"] }] },
    {
      level: "Metadata",
      resources: [
        { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token", "nodes/token"] },
        { group: "authentication.k8s.io", resources: ["tokenreviews"] },
      ],
    },
    { level: "Request", verbs: ["create", "update", "patch", "delete", "deletecollection"] },
    { level: "Metadata" },
  ],
};

const matchAny = (list: string[] | undefined, value: string) => !list || list.includes("*") || list.includes(value);

function matches(rule: AuditRule, user: UserInfo, info: RequestInfo): boolean {
  if (rule.users && !matchAny(rule.users, user.username)) return false;
  if (rule.userGroups && !user.groups.some((g) => rule.userGroups!.includes(g))) return false;
  if (rule.verbs && !matchAny(rule.verbs, info.verb)) return false;
  if (rule.nonResourceURLs || rule.resources || rule.namespaces) {
    if (!info.isResourceRequest) {
      if (!rule.nonResourceURLs) return false;
      return rule.nonResourceURLs.some((u) => u === "*" || (u.endsWith("*") ? info.path.startsWith(u.slice(0, -1)) : u === info.path));
    }
    if (rule.nonResourceURLs && !rule.resources && !rule.namespaces) return false;
    if (rule.namespaces && !matchAny(rule.namespaces, info.namespace)) return false;
    if (rule.resources) {
      const full = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
      const ok = rule.resources.some((r) =>
        (r.group === undefined || r.group === "*" || r.group === info.group) &&
        (!r.resources || r.resources.includes("*") || r.resources.includes(full) ||
          (!info.subresource && r.resources.includes(info.resource)) || r.resources.includes(`${info.resource}/*`))
      );
      if (!ok) return false;
    }
  }
  return true;
}

/** The level of a request under `policy` (first matching rule; None when none matches). Pure. */
export function auditLevel(policy: AuditPolicy, user: UserInfo, info: RequestInfo): AuditLevel {
  for (const rule of policy.rules) if (matches(rule, user, info)) return rule.level;
  return "None";
}

/** Everything one audit event records. */
export interface AuditRecord {
  auditID: string;
  stage: "ResponseStarted" | "ResponseComplete";
  level: AuditLevel;
  requestURI: string;
  info: RequestInfo;
  user: UserInfo;
  impersonatedUser?: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
  code: number;
  /** The Status message of a failure. */
  message?: string;
  decision?: "allow" | "forbid";
  decisionReason?: string;
  requestObject?: unknown;
  receivedAt: number;
  now: number;
}

let isoSecond = NaN;
let isoPrefix = "";

/** RFC 3339 with microseconds (`2026-11-26T19:40:00.123456Z`), as upstream's MicroTime. */
function micro(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    // The date part changes once a second: format it then, not on every event.
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const us = Math.floor((ms - second * 1000) * 1000);
  return `${isoPrefix}${String(us).padStart(6, "0")}Z`;
}

function userOf(u: UserInfo) {
  return { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) };
}

/** The JSON line of an audit event (upstream's Event, plus `skiff.dev/latency-ms`). Pure. */
export function auditLine(r: AuditRecord): string {
  const { info } = r;
  const annotations: Record<string, string> = { "skiff.dev/latency-ms": (r.now - r.receivedAt).toFixed(3) };
  if (r.decision) {
    annotations["authorization.k8s.io/decision"] = r.decision;
    annotations["authorization.k8s.io/reason"] = r.decisionReason ?? "";
  }
  const failed = r.code >= 400;
  return JSON.stringify({
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: r.level,
    auditID: r.auditID,
    stage: r.stage,
    requestURI: r.requestURI,
    verb: info.verb,
    user: userOf(r.user),
    ...(r.impersonatedUser ? { impersonatedUser: userOf(r.impersonatedUser) } : {}),
    sourceIPs: r.sourceIPs,
    ...(r.userAgent ? { userAgent: r.userAgent } : {}),
    ...(info.isResourceRequest
      ? {
        objectRef: {
          resource: info.resource,
          ...(info.namespace ? { namespace: info.namespace } : {}),
          ...(info.name ? { name: info.name } : {}),
          apiGroup: info.group,
          apiVersion: info.version,
          ...(info.subresource ? { subresource: info.subresource } : {}),
        },
      }
      : {}),
    responseStatus: {
      metadata: {},
      ...(failed ? { status: "Failure" } : {}),
      ...(failed && r.message ? { message: r.message } : {}),
      code: r.code,
    },
    ...(r.level === "Request" && r.requestObject !== undefined ? { requestObject: r.requestObject } : {}),
    requestReceivedTimestamp: micro(r.receivedAt),
    stageTimestamp: micro(r.now),
    annotations,
  });
}
