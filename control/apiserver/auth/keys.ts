/**
 * The keys that sign and verify the cluster's JWTs (ServiceAccount tokens, node credentials, the
 * API server's calls to node agents): one private key that signs (ES256 or RS256, PKCS#8 PEM) and
 * any number of public keys that still verify (rotation), each with upstream's key id, the
 * base64url SHA-256 of its DER public key.
 *
 * @example
 * ```ts
 * const keys = await loadSigningKeys({ privateKey: pem });
 * keys.jwks(); // { keys: [{ kty: "EC", crv: "P-256", kid: "…", use: "sig", alg: "ES256", … }] }
 * ```
 * @module
 */
import { exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, importSPKI, type JWK } from "jose";

export type SigningAlgorithm = "ES256" | "RS256";

/** A WebCrypto key as jose types it (Node's and Deno's CryptoKey types differ when both are loaded). */
export type Key = Awaited<ReturnType<typeof importPKCS8>>;

/** A key that verifies tokens. */
export interface VerificationKey {
  kid: string;
  alg: SigningAlgorithm;
  key: Key;
  jwk: JWK;
}

/** The signing key plus every verification key (the signing key's public half first). */
export interface SigningKeys {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: Key;
  verification: VerificationKey[];
  /** The JSON Web Key Set of the verification keys (served at `/openid/v1/jwks`). */
  jwks(): { keys: JWK[] };
}

/** Key material, as PEM text (what the CLI reads from the data dir and Deploy from env vars). */
export interface KeyMaterial {
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`) of an EC P-256 or RSA key. */
  privateKey: string;
  /** More SPKI PEM (`BEGIN PUBLIC KEY`) keys accepted for verification (old keys after a rotation). */
  publicKeys?: string[];
}

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Upstream's key id: base64url(SHA-256(DER SubjectPublicKeyInfo)). */
async function keyId(publicKey: Key): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey as unknown as CryptoKey));
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
}

async function algorithmOf(pem: string): Promise<SigningAlgorithm> {
  for (const alg of ["ES256", "RS256"] as const) {
    try {
      await importPKCS8(pem, alg);
      return alg;
    } catch { /* try the next */ }
  }
  throw new Error("the signing key is not a PKCS#8 PEM EC P-256 or RSA private key");
}

async function verificationKey(publicJwk: JWK, alg: SigningAlgorithm): Promise<VerificationKey> {
  const key = await importJWK({ ...publicJwk, alg }, alg, { extractable: true }) as Key;
  const kid = await keyId(key);
  return { kid, alg, key, jwk: { ...publicJwk, kid, use: "sig", alg } };
}

/** Imports the signing key and the extra verification keys. */
export async function loadSigningKeys(material: KeyMaterial): Promise<SigningKeys> {
  const alg = await algorithmOf(material.privateKey);
  const privateKey = await importPKCS8(material.privateKey, alg, { extractable: true });
  const { kty, crv, x, y, n, e } = await exportJWK(privateKey);
  const own = await verificationKey(kty === "EC" ? { kty, crv, x, y } : { kty, n, e }, alg);
  const verification = [own];
  for (const pem of material.publicKeys ?? []) {
    let extra: VerificationKey | undefined;
    for (const a of ["ES256", "RS256"] as const) {
      try {
        const k = await importSPKI(pem, a, { extractable: true });
        extra = await verificationKey(await exportJWK(k), a);
        break;
      } catch { /* try the next */ }
    }
    if (!extra) throw new Error("a verification key is not an SPKI PEM EC P-256 or RSA public key");
    if (!verification.some((v) => v.kid === extra!.kid)) verification.push(extra);
  }
  return {
    alg,
    kid: own.kid,
    privateKey,
    verification,
    jwks: () => ({ keys: verification.map((v) => v.jwk) }),
  };
}

/** A fresh ES256 private key as PKCS#8 PEM (what `./skiff up` stores as `pki/sa.key`). */
export async function generateSigningKey(): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return await exportPKCS8(privateKey);
}
