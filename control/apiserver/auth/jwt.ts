/**
 * Signs and verifies the cluster's JWTs with {@linkcode SigningKeys} (jose). Verified signatures
 * are cached (bounded), so a client reusing its token costs a map lookup plus the time checks;
 * the caller still checks, on every request, that the objects the token is bound to exist.
 *
 * @example
 * ```ts
 * const jwt = new JwtCodec(keys, { issuer: "https://kubernetes.default.svc.cluster.local" });
 * const token = await jwt.sign({ sub: "system:node:n1", aud: ["x"] }, 3600);
 * const claims = await jwt.verify(token, ["x"]);
 * ```
 * @module
 */
import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { AuthenticationError } from "./authenticator.ts";
import type { SigningKeys } from "./keys.ts";

/** Upstream's clock leeway for `exp`/`nbf` (jwt.DefaultLeeway). */
export const LEEWAY_SECONDS = 60;

const CACHE_MAX = 4096;

/** Whether a string has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export interface JwtCodecOptions {
  issuer: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class JwtCodec {
  readonly issuer: string;
  readonly keys: SigningKeys;
  readonly #now: () => number;
  readonly #verified = new Map<string, JWTPayload>();

  constructor(keys: SigningKeys, opts: JwtCodecOptions) {
    this.keys = keys;
    this.issuer = opts.issuer;
    this.#now = opts.now ?? Date.now;
  }

  /** Seconds since the epoch, now. */
  nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Signs `claims` (iss, iat, nbf and exp added) valid for `ttlSeconds`. */
  async sign(claims: JWTPayload & Record<string, unknown>, ttlSeconds: number): Promise<string> {
    const iat = this.nowSeconds();
    return await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: this.keys.alg, kid: this.keys.kid })
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + ttlSeconds)
      .sign(this.keys.privateKey);
  }

  /**
   * Verifies signature, issuer, time and audience (one of `audiences`). Throws
   * {@linkcode AuthenticationError} with upstream's messages.
   */
  async verify(token: string, audiences: string[]): Promise<JWTPayload> {
    let payload = this.#verified.get(token);
    if (!payload) {
      let kid: string | undefined;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        throw new AuthenticationError("invalid bearer token");
      }
      const key = this.keys.verification.find((k) => k.kid === kid) ??
        (kid === undefined ? this.keys.verification[0] : undefined);
      if (!key) throw new AuthenticationError("invalid bearer token, no key matches the token's key id");
      try {
        ({ payload } = await jwtVerify(token, key.key, {
          issuer: this.issuer,
          algorithms: [key.alg],
          // Time is checked below, on every use (also for cached tokens).
          clockTolerance: Number.MAX_SAFE_INTEGER,
        }));
      } catch (e) {
        if (e instanceof errors.JWTClaimValidationFailed && e.claim === "iss") {
          throw new AuthenticationError("token issuer is not valid for this cluster");
        }
        throw new AuthenticationError("invalid bearer token, signature could not be verified");
      }
      if (this.#verified.size >= CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(token, payload);
    }
    const now = this.nowSeconds();
    if (typeof payload.exp !== "number" || now > payload.exp + LEEWAY_SECONDS) {
      throw new AuthenticationError("service account token has expired");
    }
    if (typeof payload.nbf === "number" && now < payload.nbf - LEEWAY_SECONDS) {
      throw new AuthenticationError("service account token is not valid yet");
    }
    const aud = typeof payload.aud === "string" ? [payload.aud] : payload.aud ?? [];
    if (!aud.some((a) => audiences.includes(a))) {
      throw new AuthenticationError(
        `token audiences ${JSON.stringify(aud)} is invalid for the target audiences ${JSON.stringify(audiences)}`,
      );
    }
    return payload;
  }
}
