/**
 * The request pipeline's vocabulary: who is calling (authentication), whether they may
 * (authorization), and the admission chain that may mutate or reject a write. Each is an
 * interface so the security layer plugs in without touching the handlers.
 * @module
 */
import type { ResourceDef } from "../api/resource.ts";
import type { KubeObject } from "../api/types.ts";
import type { ResponseFormat } from "./negotiate.ts";
import type { RequestInfo } from "./request_info.ts";
import type { Served } from "./resources.ts";

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface Authenticator {
  /** The caller; null when the request carries no credentials (anonymous). Throws 401 on bad ones. */
  authenticate(req: Request): Promise<UserInfo | null>;
}

export interface AuthorizationAttributes {
  user: UserInfo;
  info: RequestInfo;
  /** The request's field selector (the node authorizer lets a node list only its own pods). */
  fieldSelector?: string;
  labelSelector?: string;
}

export interface Authorizer {
  authorize(attrs: AuthorizationAttributes): Promise<{ allowed: boolean; reason?: string }>;
}

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionAttributes {
  operation: Operation;
  def: ResourceDef;
  /** The object being written (mutable in the mutating phase). Null for DELETE. */
  object: KubeObject | null;
  oldObject: KubeObject | null;
  namespace: string;
  name: string;
  subresource: string;
  user: UserInfo;
  dryRun: boolean;
  /**
   * Warning headers of the response (`RequestContext.warnings`): admission steps push to it
   * (PodSecurity's warn mode). Absent where the caller has no response to warn on.
   */
  warnings?: string[];
}

/** One admission step. `admit` may mutate `attrs.object`; `validate` may only reject (throw ApiError). */
export interface AdmissionPlugin {
  name: string;
  admit?(attrs: AdmissionAttributes): Promise<void> | void;
  validate?(attrs: AdmissionAttributes): Promise<void> | void;
}

/** Everything a REST handler needs about the request it serves. */
export interface RequestContext {
  info: RequestInfo;
  served: Served;
  req: Request;
  query: URLSearchParams;
  user: UserInfo;
  format: ResponseFormat;
  /** Warning headers to send (`299 - "..."`). */
  warnings: string[];
  /** The body of a write when the request filters already read it (then `req`'s body is used up). */
  body?: Uint8Array;
}

/** The request body: what the filters read, or else the request's own body. */
export async function requestBody(ctx: RequestContext): Promise<Uint8Array> {
  return ctx.body ?? new Uint8Array(await ctx.req.arrayBuffer());
}

/** Everyone may do everything: the default until RBAC is configured. */
export const allowAll: Authorizer = { authorize: () => Promise.resolve({ allowed: true }) };

/** Without an authenticator every request acts as the cluster admin. */
export const ADMIN: UserInfo = { username: "admin", groups: ["system:masters", "system:authenticated"] };
export const noAuthentication: Authenticator = { authenticate: () => Promise.resolve(ADMIN) };
