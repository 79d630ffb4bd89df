/**
 * Kubernetes `metav1.Status` errors: the one error vocabulary of the API.
 *
 * Every failure the API server returns is an {@link ApiError}. Its `status` is the exact JSON body
 * a client receives, so client-go, kubectl and @kubernetes/client-node map it to their typed errors.
 *
 * @example
 * ```ts
 * throw notFound({ group: "apps", resource: "deployments" }, "web");
 * ```
 * @module
 */

/** One cause of an `Invalid` (or other) Status, as in `metav1.StatusCause`. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The `metav1.Status` object. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** A group and plural resource name, as used in Status details and messages. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** An error that carries the Kubernetes Status a client should see. */
export class ApiError extends Error {
  readonly status: Status;

  constructor(status: Omit<Status, "kind" | "apiVersion" | "metadata" | "status">) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = "ApiError";
    this.status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", ...status };
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string | undefined {
    return this.status.reason;
  }
}

/** Whether `e` is an ApiError with the given HTTP code. */
export function isApiError(e: unknown, code?: number): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code);
}

/** `deployments.apps` style qualified resource name. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

export function badRequest(message: string, causes?: StatusCause[]): ApiError {
  return new ApiError({ code: 400, reason: "BadRequest", message, ...(causes ? { details: { causes } } : {}) });
}

export function unauthorized(message = "Unauthorized"): ApiError {
  return new ApiError({ code: 401, reason: "Unauthorized", message });
}

export function forbidden(gr: GroupResource, name: string, message: string): ApiError {
  const what = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  return new ApiError({
    code: 403,
    reason: "Forbidden",
    message: `${what} is forbidden: ${message}`,
    details: { name: name || undefined, group: gr.group || undefined, kind: gr.resource },
  });
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError({
    code: 404,
    reason: "NotFound",
    message: `${qualifiedResource(gr)} "${name}" not found`,
    details: { name, group: gr.group || undefined, kind: gr.resource },
  });
}

/** A 404 for a path that names no served resource. */
export function pathNotFound(path: string): ApiError {
  return new ApiError({ code: 404, reason: "NotFound", message: `the server could not find the requested resource (${path})` });
}

export function methodNotAllowed(message: string): ApiError {
  return new ApiError({ code: 405, reason: "MethodNotAllowed", message });
}

export function notAcceptable(message: string): ApiError {
  return new ApiError({ code: 406, reason: "NotAcceptable", message });
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError({
    code: 409,
    reason: "AlreadyExists",
    message: `${qualifiedResource(gr)} "${name}" already exists`,
    details: { name, group: gr.group || undefined, kind: gr.resource },
  });
}

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError({
    code: 409,
    reason: "Conflict",
    message: `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    details: { name, group: gr.group || undefined, kind: gr.resource },
  });
}

/** The message upstream uses when a write carries a stale resourceVersion. */
export const STALE_OBJECT =
  "the object has been modified; please apply your changes to the latest version and try again";

export function gone(message: string): ApiError {
  return new ApiError({ code: 410, reason: "Expired", message });
}

export function tooLarge(message: string): ApiError {
  return new ApiError({ code: 413, reason: "RequestEntityTooLarge", message });
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError({
    code: 415,
    reason: "UnsupportedMediaType",
    message: `the body of the request was in an unknown format - accepted media types include: ` +
      `application/json, application/yaml, application/cbor, application/vnd.kubernetes.protobuf${contentType ? `; got ${contentType}` : ""}`,
  });
}

/** 422 Invalid, with one cause per failing field, in upstream's message format. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message ?? "")).join(", ");
  const message = `${qualifiedKind} "${name}" is invalid: ${causes.length > 1 ? `[${list}]` : list}`;
  return new ApiError({
    code: 422,
    reason: "Invalid",
    message,
    details: { name, group: group || undefined, kind, causes },
  });
}

export function tooManyRequests(message: string, retryAfterSeconds = 1): ApiError {
  return new ApiError({ code: 429, reason: "TooManyRequests", message, details: { retryAfterSeconds } });
}

export function internalError(message = "an internal error occurred; see the server log"): ApiError {
  return new ApiError({ code: 500, reason: "InternalError", message });
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError({ code: 503, reason: "ServiceUnavailable", message });
}

/** Field error constructors, named after apimachinery's `field.ErrorType` values. */
export const fieldError = {
  required: (field: string, detail = ""): StatusCause => ({
    reason: "FieldValueRequired",
    field,
    message: detail ? `Required value: ${detail}` : "Required value",
  }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): StatusCause => ({
    reason: "FieldValueNotSupported",
    field,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${
      supported.map((s) => `"${s}"`).join(", ")
    }`,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({
    reason: "FieldValueDuplicate",
    field,
    message: `Duplicate value: ${JSON.stringify(value)}`,
  }),
  forbidden: (field: string, detail: string): StatusCause => ({
    reason: "FieldValueForbidden",
    field,
    message: `Forbidden: ${detail}`,
  }),
  tooLong: (field: string, max: number): StatusCause => ({
    reason: "FieldValueTooLong",
    field,
    message: `Too long: may not be more than ${max} bytes`,
  }),
  unknown: (field: string): StatusCause => ({
    reason: "FieldValueInvalid",
    field,
    message: `unknown field "${field}"`,
  }),
  notFound: (field: string, value: unknown): StatusCause => ({
    reason: "FieldValueNotFound",
    field,
    message: `Not found: ${JSON.stringify(value)}`,
  }),
};
