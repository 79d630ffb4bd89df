/**
 * The request filters in front of the API's handlers, in upstream's order
 * (`DefaultBuildHandlerChain`): authentication (anonymous requests reach only the public paths) →
 * audit → impersonation → requests in flight (429) → authorization (403) → body limit (413) →
 * the handler. Every answer, refusals included, is audited.
 *
 * In-process callers (the bootstrap step, the scheduler and controllers run by `./skiff up`) pass
 * their identity directly (`ApiServer.fetchAs`), as upstream's loopback client does with its
 * token; nothing that arrives over the network can do that.
 *
 * @example
 * ```ts
 * const filters = new RequestFilters({ authenticator, authorizer, render, inner: (req, state) => app.fetch(req, state) });
 * Deno.serve((req, conn) => filters.serve(req, { remoteAddr: conn.remoteAddr.hostname }));
 * ```
 * @module
 */
import { ApiError, unauthorized } from "../../api/status.ts";
import type { Authenticator, Authorizer, UserInfo } from "../context.ts";
import { bodyMediaType, decodeBody } from "../negotiate.ts";
import { parseRequestInfo, type RequestInfo } from "../request_info.ts";
import { isPublicPath } from "./anonymous.ts";
import { auditLevel, type AuditLevel, auditLine, type AuditOptions, DEFAULT_AUDIT_POLICY } from "./audit.ts";
import { MAX_REQUEST_BODY_BYTES, readBodyLimited } from "./body_limit.ts";
import { attributesFrom, forbiddenError as rbacForbidden } from "../rbac/mod.ts";
import { hasImpersonation, impersonate } from "./impersonation.ts";
import { InflightLimiter, type InflightLimits, isLongRunning } from "./inflight.ts";
import { ANONYMOUS, SYSTEM_MASTERS } from "./users.ts";

/** What the filters hand to the handler. */
export interface RequestState {
  /** The user the request acts as (after impersonation). */
  user: UserInfo;
  info: RequestInfo;
  /** The request's URL, parsed once. */
  url?: URL;
  /**
   * The body of a write, read (and size-checked) here; the request's own body stream is then
   * used up. Handlers read it with `requestBody(ctx)`.
   */
  body?: Uint8Array;
}

export interface RequestFiltersOptions {
  authenticator: Authenticator;
  authorizer: Authorizer;
  audit?: AuditOptions;
  /** In-flight bounds; false turns the limiter off. */
  limits?: InflightLimits | false;
  /** Request body limit in bytes (default 3 MiB). */
  maxRequestBodyBytes?: number;
  /** Renders an error as a Status response. */
  render(err: unknown): Response;
  /** The handler behind the filters. */
  inner(req: Request, state: RequestState): Response | Promise<Response>;
}

/** How a request arrived. */
export interface Arrival {
  /** An identity vouched for by in-process code (skips authentication). */
  user?: UserInfo;
  remoteAddr?: string;
}

const clock = () => performance.timeOrigin + performance.now();
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class RequestFilters {
  readonly #opts: RequestFiltersOptions;
  readonly limiter: InflightLimiter | null;
  readonly #maxBody: number;

  constructor(opts: RequestFiltersOptions) {
    this.#opts = opts;
    this.limiter = opts.limits === false ? null : new InflightLimiter(opts.limits ?? {});
    this.#maxBody = opts.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES;
  }

  /** Serves one request through the filters. */
  async serve(req: Request, arrival: Arrival = {}): Promise<Response> {
    const receivedAt = clock();
    const url = new URL(req.url);
    const info = parseRequestInfo(req.method, url.pathname, url.searchParams);
    const o = this.#opts;
    let caller: UserInfo | undefined;
    let acting: UserInfo | null = null;
    let level: AuditLevel = "None";
    let decision: "allow" | "forbid" | undefined;
    let requestObject: unknown;
    let release: (() => void) | undefined;
    let failure: string | undefined;
    let body: Uint8Array | undefined;
    const auditID = o.audit ? crypto.randomUUID() : "";
    const longRunning = info.isResourceRequest && isLongRunning(info.verb, info.subresource);
    let res: Response;
    try {
      caller = arrival.user ?? (await o.authenticator.authenticate(req)) ?? undefined;
      if (!caller) {
        if (!isPublicPath(url.pathname)) throw unauthorized();
        caller = ANONYMOUS;
      }
      if (hasImpersonation(req.headers)) acting = await impersonate(req.headers, caller, o.authorizer);
      const user = acting ?? caller;
      if (o.audit) level = auditLevel(o.audit.policy ?? DEFAULT_AUDIT_POLICY, user, info);
      const exempt = user.groups.includes(SYSTEM_MASTERS);
      if (this.limiter && !exempt) release = this.limiter.acquire(user.username, longRunning);
      if (info.isResourceRequest && !exempt) {
        const attrs = {
          user,
          info,
          fieldSelector: url.searchParams.get("fieldSelector") ?? undefined,
          labelSelector: url.searchParams.get("labelSelector") ?? undefined,
        };
        const d = await o.authorizer.authorize(attrs);
        decision = d.allowed ? "allow" : "forbid";
        if (!d.allowed) throw rbacForbidden(attributesFrom(attrs), d.reason);
      } else decision = "allow";
      if (WRITE_METHODS.has(req.method) && !longRunning) {
        // Read once and handed on in the state (re-wrapping the bytes in a new Request cost more
        // than the rest of the filters together).
        body = await readBodyLimited(req, this.#maxBody);
        if (level === "Request" && body.length) requestObject = auditObject(req.headers.get("content-type"), body);
      }
      res = await o.inner(req, { user, info, url, body });
    } catch (e) {
      if (e instanceof ApiError) failure = e.status.message;
      res = o.render(e);
    }
    const record = (stage: "ResponseStarted" | "ResponseComplete") => {
      // A refused credential has no user, hence no policy level: it is always recorded.
      if (!o.audit || (level === "None" && caller)) return;
      try {
        o.audit.sink(auditLine({
          auditID: auditID,
          stage,
          level: level === "None" ? "Metadata" : level,
          requestURI: url.pathname + url.search,
          info,
          user: caller ?? { username: "", groups: [] },
          impersonatedUser: acting ?? undefined,
          sourceIPs: arrival.remoteAddr ? [arrival.remoteAddr] : [],
          userAgent: req.headers.get("user-agent") ?? undefined,
          code: res.status,
          message: failure,
          decision,
          requestObject,
          receivedAt,
          now: clock(),
        }));
      } catch (e) {
        console.error("audit sink failed:", e);
      }
    };
    if (longRunning && res.ok && res.body) {
      record("ResponseStarted");
      return onBodyEnd(res, () => {
        release?.();
        record("ResponseComplete");
      });
    }
    release?.();
    record("ResponseComplete");
    return res;
  }
}

/** The request object for a `Request`-level audit event, or undefined when it cannot be decoded. */
function auditObject(contentType: string | null, bytes: Uint8Array): unknown {
  const type = bodyMediaType(contentType);
  try {
    return decodeBody(type.endsWith("json") ? "application/json" : type, bytes);
  } catch {
    return undefined;
  }
}

/** Calls `done` once when the response body ends, errors or is cancelled. */
function onBodyEnd(res: Response, done: () => void): Response {
  const reader = res.body!.getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) {
          finish();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (e) {
        finish();
        controller.error(e);
      }
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason).catch(() => {});
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
