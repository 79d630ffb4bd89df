/**
 * The node's own credential (`system:node:<name>`, a JWT from `POST /api/v1/nodes/<name>/token`)
 * and its renewal, as the kubelet rotates its client certificate: once 80 % of its lifetime has
 * passed, the node asks for a new one with the current one (the same TokenRequest), starts using
 * it at once, and hands it to `onRenewed` (which rewrites the kubeconfig). A failed renewal is
 * retried with back-off (30 s doubling to 5 min) while the old credential is still valid.
 *
 * A token that is not a JWT (a static token) or has no `exp` is never renewed.
 *
 * @example
 * ```ts
 * const cred = new NodeCredential(token, { name, request: (t) => client.request(...) });
 * const client = new Client({ server, token: () => cred.token });
 * cred.start();
 * ```
 * @module
 */

import type { Client } from "../../control/api/client.ts";

/** What a TokenRequest for a node credential answers. */
export interface IssuedCredential {
  token: string;
  expirationTimestamp?: string;
}

/** Asks for a credential of node `name` (`POST /api/v1/nodes/<name>/token`), authenticated as `client` is. */
export async function requestNodeCredential(client: Client, name: string): Promise<IssuedCredential> {
  const res = await client.request("POST", `/api/v1/nodes/${encodeURIComponent(name)}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {},
  });
  return (await res.json()).status;
}

/** The `iat` (or `nbf`) and `exp` of a JWT, in ms, read without verifying it; null when it is not one. */
export function credentialLifetime(token: string): { issuedAt: number; expiresAt: number } | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const json = atob(
      parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "="),
    );
    const claims = JSON.parse(json);
    if (typeof claims?.exp !== "number") return null;
    const iat = typeof claims.iat === "number"
      ? claims.iat
      : typeof claims.nbf === "number"
      ? claims.nbf
      : undefined;
    if (iat === undefined || iat >= claims.exp) return null;
    return { issuedAt: iat * 1000, expiresAt: claims.exp * 1000 };
  } catch {
    return null;
  }
}

/** When a credential is due for renewal: `fraction` (80 %) of its lifetime after it was issued. */
export function renewalTime(lifetime: { issuedAt: number; expiresAt: number }, fraction = 0.8): number {
  return lifetime.issuedAt + (lifetime.expiresAt - lifetime.issuedAt) * fraction;
}

export interface NodeCredentialOptions {
  /** Asks the API server for a new credential, authenticated with `current`. */
  request(current: string): Promise<IssuedCredential>;
  /** Called with each renewed credential (write it where the next start reads it). */
  onRenewed?(renewed: IssuedCredential): void | Promise<void>;
  /** Share of the lifetime after which to renew (default 0.8). */
  fraction?: number;
  now?: () => number;
  log?: (line: string) => void;
}

const RETRY_MS = 30_000;
const MAX_RETRY_MS = 5 * 60_000;

export class NodeCredential implements Disposable {
  #token: string;
  readonly #opts: NodeCredentialOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryMs = RETRY_MS;
  #running = false;
  #renewing: Promise<boolean> | undefined;

  constructor(token: string, opts: NodeCredentialOptions) {
    this.#token = token;
    this.#opts = opts;
  }

  /** The credential to present now. */
  get token(): string {
    return this.#token;
  }

  /** When the current credential is due for renewal (ms), or undefined when it is never renewed. */
  get renewAt(): number | undefined {
    const life = credentialLifetime(this.#token);
    return life ? renewalTime(life, this.#opts.fraction) : undefined;
  }

  /** Renews now if the credential is due; resolves to whether it was renewed. */
  renewIfDue(): Promise<boolean> {
    const at = this.renewAt;
    if (at === undefined || (this.#opts.now ?? Date.now)() < at) return Promise.resolve(false);
    return this.renew();
  }

  /** Asks for a new credential with the current one (one request at a time). */
  renew(): Promise<boolean> {
    return this.#renewing ??= (async () => {
      try {
        const issued = await this.#opts.request(this.#token);
        if (!issued?.token) throw new Error("the answer carries no token");
        this.#token = issued.token;
        await this.#opts.onRenewed?.(issued);
        this.#retryMs = RETRY_MS;
        (this.#opts.log ?? console.error)(
          `node credential renewed${
            issued.expirationTimestamp ? `; valid until ${issued.expirationTimestamp}` : ""
          }`,
        );
        return true;
      } finally {
        this.#renewing = undefined;
      }
    })();
  }

  /** Keeps renewing in the background until {@linkcode stop}. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  #schedule(delayMs?: number): void {
    clearTimeout(this.#timer);
    if (!this.#running) return;
    const at = this.renewAt;
    if (at === undefined) return;
    const now = (this.#opts.now ?? Date.now)();
    // setTimeout holds at most ~24.8 days; a longer wait is taken in steps.
    const wait = Math.min(delayMs ?? Math.max(0, at - now), 2 ** 31 - 1);
    this.#timer = setTimeout(async () => {
      try {
        if (await this.renewIfDue()) return this.#schedule();
        this.#schedule();
      } catch (e) {
        (this.#opts.log ?? console.error)(
          `renewing the node credential failed; retrying in ${this.#retryMs / 1000} s: ${
            (e as Error).message
          }`,
        );
        const retry = this.#retryMs;
        this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
        this.#schedule(retry);
      }
    }, wait);
  }

  /** Stops renewing (waits for a renewal in flight). */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#renewing?.catch(() => {});
  }

  [Symbol.dispose](): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }
}
