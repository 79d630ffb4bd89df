/**
 * `wasi:http/types` resources for one instance, plus the host-side doors the server bridge and
 * the outgoing handler use: building an `incoming-request` from a `Request`, and turning what
 * the guest put in its `response-outparam` into a `Response`. Fields are in `http_fields.ts`.
 * @module
 */
import { Fields, FieldsData, type HttpErrorCode, type Method, type Scheme, toMethod } from "./http_fields.ts";
import {
  ByteQueue,
  type ByteSink,
  InputStream,
  IoError,
  OutputStream,
  Pollable,
  promiseReadiness,
  READY,
} from "./io.ts";

export { Fields, fromMethod, type HttpErrorCode, type Method, type Scheme, toMethod } from "./http_fields.ts";

/** The body the guest writes into an `outgoing-body`. */
export class BodyBuffer implements ByteSink {
  #chunks: Uint8Array[] = [];
  #controller?: ReadableStreamDefaultController<Uint8Array>;
  #stream?: ReadableStream<Uint8Array>;
  finished = false;
  #failed?: string;

  write(bytes: Uint8Array): void {
    if (this.finished) throw new IoError("the body is finished");
    const copy = bytes.slice();
    if (this.#controller) this.#controller.enqueue(copy);
    else this.#chunks.push(copy);
  }

  finish(): void {
    this.finished = true;
    this.#controller?.close();
  }

  /** The body was dropped without `finish` (the response is incomplete). */
  abort(reason: string): void {
    if (this.finished) return;
    this.#failed = reason;
    this.#controller?.error(new Error(reason));
  }

  /** Everything written, when the body is finished. */
  bytes(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0];
    const total = this.#chunks.reduce((n, c) => n + c.byteLength, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }

  /** The body as a stream (what was written so far, then what follows). */
  stream(): ReadableStream<Uint8Array> {
    this.#stream ??= new ReadableStream<Uint8Array>({
      start: (controller) => {
        for (const c of this.#chunks) controller.enqueue(c);
        this.#chunks = [];
        if (this.#failed) controller.error(new Error(this.#failed));
        else if (this.finished) controller.close();
        else this.#controller = controller;
      },
    });
    return this.#stream;
  }
}

/** `wasi:http/types.outgoing-body`. */
export class OutgoingBody {
  /** @internal */
  _buffer = new BodyBuffer();
  #written = false;
  #signal?: AbortSignal;

  constructor(signal?: AbortSignal) {
    this.#signal = signal;
  }

  write(): OutputStream {
    if (this.#written) throw undefined;
    this.#written = true;
    return new OutputStream({ write: (b) => this._buffer.write(b) }, this.#signal);
  }

  static finish(body: OutgoingBody, trailers?: Fields): void {
    if (trailers) throw { tag: "internal-error", val: "trailers are not supported" };
    body._buffer.finish();
  }

  [Symbol.dispose](): void {
    this._buffer.abort("the guest dropped the body without finishing it");
  }
}

/** `wasi:http/types.incoming-body`. */
export class IncomingBody {
  readonly #queue: ByteQueue;
  readonly #signal?: AbortSignal;
  #taken = false;

  constructor(queue: ByteQueue, signal?: AbortSignal) {
    this.#queue = queue;
    this.#signal = signal;
  }

  stream(): InputStream {
    if (this.#taken) throw undefined;
    this.#taken = true;
    return new InputStream(this.#queue, this.#signal);
  }

  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

/** `wasi:http/types.future-trailers`: there are never trailers. */
export class FutureTrailers {
  #taken = false;

  subscribe(): Pollable {
    return new Pollable(READY);
  }

  get() {
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: { tag: "ok", val: undefined } };
  }
}

/** `wasi:http/types.incoming-request` (made by the host from a `Request`). */
export class IncomingRequest {
  readonly #req: Request;
  readonly #url: URL;
  readonly #signal?: AbortSignal;
  #consumed = false;
  #headers?: FieldsData;

  constructor(req: Request, signal?: AbortSignal) {
    this.#req = req;
    this.#url = new URL(req.url);
    this.#signal = signal;
  }

  method(): Method {
    return toMethod(this.#req.method);
  }

  pathWithQuery(): string {
    return this.#url.pathname + this.#url.search;
  }

  scheme(): Scheme {
    return this.#url.protocol === "https:" ? { tag: "HTTPS" } : { tag: "HTTP" };
  }

  authority(): string {
    return this.#req.headers.get("host") ?? this.#url.host;
  }

  headers(): Fields {
    this.#headers ??= new FieldsData(this.#req.headers, true);
    return Fields._view(this.#headers);
  }

  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(ByteQueue.fromStream(this.#req.body), this.#signal);
  }
}

/** `wasi:http/types.outgoing-response`. */
export class OutgoingResponse {
  /** @internal */
  _status = 200;
  /** @internal */
  _headers: FieldsData;
  /** @internal */
  _body?: OutgoingBody;
  readonly #signal?: AbortSignal;

  constructor(headers: Fields, signal?: AbortSignal) {
    this._headers = headers._d;
    this._headers.immutable = true;
    this.#signal = signal;
  }

  statusCode(): number {
    return this._status;
  }

  setStatusCode(code: number): void {
    if (code < 100 || code > 599) throw undefined;
    this._status = code;
  }

  headers(): Fields {
    return Fields._view(this._headers);
  }

  body(): OutgoingBody {
    if (this._body) throw undefined;
    this._body = new OutgoingBody(this.#signal);
    return this._body;
  }
}

/** What the guest answered through a `response-outparam`. */
export type Outcome = { tag: "ok"; val: OutgoingResponse } | { tag: "err"; val: HttpErrorCode };

/** `wasi:http/types.response-outparam`. */
export class ResponseOutparam {
  /** @internal */
  _outcome?: Outcome;
  /** @internal */
  _onSet?: (o: Outcome) => void;

  static set(param: ResponseOutparam, response: Outcome): void {
    if (param._outcome) throw new Error("response-outparam was already set");
    param._outcome = response;
    param._onSet?.(response);
  }
}

/** Renders a `wasi:http` error code for people. */
export function describeErrorCode(e: HttpErrorCode): string {
  return e.val === undefined || e.val === null
    ? e.tag
    : `${e.tag}: ${
      typeof e.val === "string"
        ? e.val
        : JSON.stringify(e.val, (_k, v) => typeof v === "bigint" ? Number(v) : v)
    }`;
}

/** Turns the guest's response into a Web `Response` (bytes when the body is already finished). */
export function toResponse(outcome: Outcome): Response {
  if (outcome.tag === "err") {
    return new Response(`wasi:http error: ${describeErrorCode(outcome.val)}\n`, { status: 500 });
  }
  const res = outcome.val;
  const headers = res._headers.toHeaders();
  const nullBody = res._status === 204 || res._status === 304 || (res._status >= 100 && res._status < 200);
  if (nullBody) return new Response(null, { status: res._status, headers });
  const buffer = res._body?._buffer;
  if (!buffer) return new Response(null, { status: res._status, headers });
  return new Response(
    (buffer.finished ? buffer.bytes() : buffer.stream()) as BodyInit,
    { status: res._status, headers },
  );
}

/** `wasi:http/types.future-incoming-response`. */
export class FutureIncomingResponse {
  #result?: { tag: "ok"; val: unknown } | { tag: "err"; val: HttpErrorCode };
  #taken = false;
  readonly #settled: Promise<unknown>;
  readonly #signal?: AbortSignal;

  constructor(p: Promise<IncomingResponse>, toError: (e: unknown) => HttpErrorCode, signal?: AbortSignal) {
    this.#signal = signal;
    this.#settled = p.then(
      (r) => (this.#result = { tag: "ok", val: r }),
      (e) => (this.#result = { tag: "err", val: toError(e) }),
    );
  }

  subscribe(): Pollable {
    return new Pollable(promiseReadiness(this.#settled), this.#signal);
  }

  get() {
    if (!this.#result) return undefined;
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: this.#result };
  }
}

/** `wasi:http/types.incoming-response`. */
export class IncomingResponse {
  readonly #res: Response;
  readonly #signal?: AbortSignal;
  #consumed = false;

  constructor(res: Response, signal?: AbortSignal) {
    this.#res = res;
    this.#signal = signal;
  }

  status(): number {
    return this.#res.status;
  }

  headers(): Fields {
    return Fields._fromHeaders(this.#res.headers);
  }

  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(
      ByteQueue.fromStream(
        this.#res.body,
        (e) => new IoError(String((e as Error)?.message ?? e), { tag: "HTTP-protocol-error" }),
      ),
      this.#signal,
    );
  }
}
