/**
 * `wasi:http/types.fields` and the small variants (method, scheme, error code): header rules
 * (token names, no CR/LF/NUL in values, hop-by-hop headers forbidden, immutable once attached to
 * a request or response) over storage shared by every handle on the same fields. Pure.
 * @module
 */
/** A `wasi:http` method variant. */
export type Method = { tag: string; val?: string };
/** A `wasi:http` scheme variant. */
export type Scheme = { tag: "HTTP" | "HTTPS" | "other"; val?: string };
/** A `wasi:http` error-code variant. */
export type HttpErrorCode = { tag: string; val?: unknown };

const METHODS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "http2-settings",
  "te",
]);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** `GET` → `{tag:"get"}`; unknown methods are `other`. */
export function toMethod(m: string): Method {
  const lower = m.toLowerCase();
  return METHODS.has(lower) && m === m.toUpperCase() ? { tag: lower } : { tag: "other", val: m };
}

/** `{tag:"get"}` → `GET`. */
export function fromMethod(m: Method): string {
  return m.tag === "other" ? String(m.val) : m.tag.toUpperCase();
}

function validValue(v: Uint8Array): boolean {
  for (const b of v) if (b === 0 || b === 10 || b === 13) return false;
  return true;
}

/** Header storage shared by every handle (view) on the same fields. */
export class FieldsData {
  #entries?: [string, Uint8Array][];
  #source?: Headers;
  immutable: boolean;

  constructor(entries: [string, Uint8Array][] | Headers, immutable: boolean) {
    if (entries instanceof Headers) this.#source = entries;
    else this.#entries = entries;
    this.immutable = immutable;
  }

  get entries(): [string, Uint8Array][] {
    if (!this.#entries) {
      this.#entries = [];
      for (const [k, v] of this.#source!) this.#entries.push([k, enc.encode(v)]);
      this.#source = undefined;
    }
    return this.#entries;
  }

  set entries(e: [string, Uint8Array][]) {
    this.#entries = e;
    this.#source = undefined;
  }

  /** As Web `Headers` (for fetch and Response). */
  toHeaders(): Headers {
    if (this.#source) return this.#source;
    const h = new Headers();
    for (const [k, v] of this.entries) h.append(k, dec.decode(v));
    return h;
  }
}

/** `wasi:http/types.fields`. */
export class Fields {
  /** @internal */
  _d: FieldsData;

  constructor() {
    this._d = new FieldsData([], false);
  }

  /** A view on existing storage (host side). */
  static _view(data: FieldsData): Fields {
    const f = new Fields();
    f._d = data;
    return f;
  }

  /** Immutable fields from Web headers (host side). */
  static _fromHeaders(h: Headers): Fields {
    return Fields._view(new FieldsData(h, true));
  }

  static fromList(entries: [string, Uint8Array][]): Fields {
    const f = new Fields();
    for (const [k, v] of entries) f.append(k, v);
    return f;
  }

  #mutable(name: string): string {
    if (this._d.immutable) throw { tag: "immutable" };
    if (!TOKEN.test(name)) throw { tag: "invalid-syntax" };
    const lower = name.toLowerCase();
    if (FORBIDDEN.has(lower)) throw { tag: "forbidden" };
    return lower;
  }

  get(name: string): Uint8Array[] {
    const lower = name.toLowerCase();
    return this._d.entries.filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v);
  }

  has(name: string): boolean {
    const lower = name.toLowerCase();
    return this._d.entries.some(([k]) => k.toLowerCase() === lower);
  }

  set(name: string, values: Uint8Array[]): void {
    const lower = this.#mutable(name);
    if (!values.every(validValue)) throw { tag: "invalid-syntax" };
    this._d.entries = [
      ...this._d.entries.filter(([k]) => k.toLowerCase() !== lower),
      ...values.map((v) => [name, v.slice()] as [string, Uint8Array]),
    ];
  }

  delete(name: string): void {
    const lower = this.#mutable(name);
    this._d.entries = this._d.entries.filter(([k]) => k.toLowerCase() !== lower);
  }

  append(name: string, value: Uint8Array): void {
    this.#mutable(name);
    if (!validValue(value)) throw { tag: "invalid-syntax" };
    this._d.entries.push([name, value.slice()]);
  }

  entries(): [string, Uint8Array][] {
    return this._d.entries.map(([k, v]) => [k, v]);
  }

  clone(): Fields {
    return Fields._view(new FieldsData(this._d.entries.map(([k, v]) => [k, v]), false));
  }
}
