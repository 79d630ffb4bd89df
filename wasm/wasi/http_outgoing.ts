/**
 * `wasi:http/outgoing-handler` over `fetch`, for one instance: requests to other pods and
 * services, allowed by a policy (the sandbox's `--allow-net` is the second fence), without
 * following redirects, with the guest's timeouts, and cancelled when the instance is aborted.
 * @module
 */
import { abortable } from "./io.ts";
import {
  Fields,
  fromMethod,
  FutureIncomingResponse,
  type HttpErrorCode,
  IncomingResponse,
  type Method,
  OutgoingBody,
  type Scheme,
} from "./http_types.ts";

/** `wasi:http/types.outgoing-request`. */
export class OutgoingRequest {
  /** @internal */
  _method: Method = { tag: "get" };
  /** @internal */
  _path?: string;
  /** @internal */
  _scheme?: Scheme;
  /** @internal */
  _authority?: string;
  /** @internal */
  _headers: Fields;
  /** @internal */
  _body?: OutgoingBody;

  constructor(headers: Fields) {
    headers._d.immutable = true;
    this._headers = headers;
  }

  body(): OutgoingBody {
    if (this._body) throw undefined;
    this._body = new OutgoingBody();
    return this._body;
  }
  method(): Method {
    return this._method;
  }
  setMethod(m: Method): void {
    if (m.tag === "other" && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(String(m.val))) throw undefined;
    this._method = m;
  }
  pathWithQuery(): string | undefined {
    return this._path;
  }
  setPathWithQuery(p?: string): void {
    if (p !== undefined && !/^[^\s]*$/.test(p)) throw undefined;
    this._path = p;
  }
  scheme(): Scheme | undefined {
    return this._scheme;
  }
  setScheme(s?: Scheme): void {
    this._scheme = s;
  }
  authority(): string | undefined {
    return this._authority;
  }
  setAuthority(a?: string): void {
    if (a !== undefined && !/^[^\s/?#@]*$/.test(a)) throw undefined;
    this._authority = a;
  }
  headers(): Fields {
    return Fields._view(this._headers._d);
  }
}

/** `wasi:http/types.request-options`. */
export class RequestOptions {
  /** @internal */
  _connect?: bigint;
  /** @internal */
  _firstByte?: bigint;
  /** @internal */
  _betweenBytes?: bigint;

  connectTimeout(): bigint | undefined {
    return this._connect;
  }
  setConnectTimeout(d?: bigint): void {
    this._connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this._firstByte;
  }
  setFirstByteTimeout(d?: bigint): void {
    this._firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this._betweenBytes;
  }
  setBetweenBytesTimeout(d?: bigint): void {
    this._betweenBytes = d;
  }
}

/** Which outgoing requests an instance may make. */
export type OutgoingPolicy = (url: URL) => boolean;

/** Maps a fetch failure to a `wasi:http` error code. */
export function fetchErrorCode(e: unknown): HttpErrorCode {
  const err = e as Error;
  if (err?.name === "TimeoutError") return { tag: "connection-timeout" };
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    return { tag: "HTTP-request-denied" };
  }
  const msg = String(err?.message ?? e);
  if (/refused/i.test(msg)) return { tag: "connection-refused" };
  if (/dns|lookup|resolve|not known/i.test(msg)) {
    return { tag: "DNS-error", val: { rcode: msg, infoCode: undefined } };
  }
  if (/timed? ?out/i.test(msg)) return { tag: "connection-timeout" };
  if (/reset|closed|terminated/i.test(msg)) return { tag: "connection-terminated" };
  return { tag: "internal-error", val: msg };
}

/** The `wasi:http/outgoing-handler` of one instance. */
export function outgoingHandler(opts: { policy: OutgoingPolicy; signal: AbortSignal; fetch?: typeof fetch }) {
  const doFetch = opts.fetch ?? fetch;
  return {
    handle(request: OutgoingRequest, options?: RequestOptions): FutureIncomingResponse {
      const scheme = request._scheme ?? { tag: "HTTP" };
      if (scheme.tag === "other") throw { tag: "HTTP-protocol-error" };
      if (!request._authority) throw { tag: "HTTP-request-URI-invalid" };
      let url: URL;
      try {
        url = new URL(
          `${scheme.tag === "HTTPS" ? "https" : "http"}://${request._authority}${request._path ?? "/"}`,
        );
      } catch {
        throw { tag: "HTTP-request-URI-invalid" };
      }
      if (!opts.policy(url)) throw { tag: "HTTP-request-denied" };
      const signals = [opts.signal];
      const timeout = options?._connect ?? options?._firstByte;
      if (timeout !== undefined) signals.push(AbortSignal.timeout(Math.max(1, Number(timeout / 1_000_000n))));
      const signal = AbortSignal.any(signals);
      const method = fromMethod(request._method);
      const buffer = request._body?._buffer;
      const body = !buffer || method === "GET" || method === "HEAD"
        ? undefined
        : buffer.finished
        ? buffer.bytes()
        : buffer.stream();
      const p = doFetch(url, {
        method,
        headers: request._headers._d.toHeaders(),
        body: body as BodyInit | undefined,
        redirect: "manual",
        signal,
      }).then((res) => new IncomingResponse(res, opts.signal));
      return new FutureIncomingResponse(abortable(p, opts.signal), fetchErrorCode, opts.signal);
    },
  };
}
