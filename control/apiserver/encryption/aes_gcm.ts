/**
 * Encryption at rest: a {@linkcode ValueTransformer} for the store that encrypts the stored
 * versions of configured resources with AES-GCM, as upstream's `aesgcm` provider
 * (`staging/src/k8s.io/apiserver/pkg/storage/value/encrypt/aes`). A stored value is
 * `k8s:enc:aesgcm:v1:<key name>:` + 12-byte random nonce + ciphertext + 16-byte tag; the
 * authenticated data is the resource's storage key (`secrets`), so a value cannot be moved to
 * another resource unnoticed. The transformer is synchronous (`node:crypto`), as the store needs.
 *
 * Values without the prefix are read as plaintext when the rule lists the `identity` provider
 * (data written before encryption was turned on), and refused otherwise.
 *
 * @example
 * ```ts
 * const transformer = encryptionTransformer(defaultEncryptionConfig(newKey("key-1")));
 * const server = new ApiServer({ kv, store: { transformer } });
 * ```
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { ValueTransformer } from "../../store/mod.ts";
import { type EncryptionConfiguration, keyBytes, ruleFor, validateEncryptionConfig } from "./config.ts";

export const AESGCM_PREFIX = "k8s:enc:aesgcm:v1:";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PREFIX_BYTES = encoder.encode(AESGCM_PREFIX);

interface Key {
  name: string;
  bytes: Uint8Array;
}

/** How one resource's values are written and read. */
interface Plan {
  /** The key new values are encrypted with; null writes plaintext (identity first). */
  write: Key | null;
  /** Decryption keys by name. */
  keys: Map<string, Key>;
  identity: boolean;
}

function cipherName(key: Uint8Array): "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" {
  return key.length === 16 ? "aes-128-gcm" : key.length === 24 ? "aes-192-gcm" : "aes-256-gcm";
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The key name of an encrypted value, or null for a value without the aesgcm prefix. */
export function keyNameOf(bytes: Uint8Array): string | null {
  if (!startsWith(bytes, PREFIX_BYTES)) return null;
  const end = bytes.indexOf(0x3a, /* : */ PREFIX_BYTES.length);
  if (end < 0) return null;
  return decoder.decode(bytes.subarray(PREFIX_BYTES.length, end));
}

/** Encrypts `plain` with `key`; `aad` is authenticated, not stored. */
export function seal(
  key: { name: string; bytes: Uint8Array },
  plain: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const cipher = createCipheriv(cipherName(key.bytes), key.bytes, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  const prefix = encoder.encode(`${AESGCM_PREFIX}${key.name}:`);
  const out = new Uint8Array(prefix.length + NONCE_BYTES + body.length + final.length + TAG_BYTES);
  let at = 0;
  for (const part of [prefix, nonce, body, final, tag]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Decrypts a value `seal` wrote with `key`; throws if it was altered or `aad` differs. */
export function open(
  key: { name: string; bytes: Uint8Array },
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const start = encoder.encode(`${AESGCM_PREFIX}${key.name}:`).length;
  if (sealed.length < start + NONCE_BYTES + TAG_BYTES) throw new Error("the encrypted value is truncated");
  const nonce = sealed.subarray(start, start + NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(cipherName(key.bytes), key.bytes, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const body = decipher.update(sealed.subarray(start + NONCE_BYTES, sealed.length - TAG_BYTES));
  const final = decipher.final();
  const out = new Uint8Array(body.length + final.length);
  out.set(body);
  out.set(final, body.length);
  return out;
}

/** A transformer that also tells whether a stored value is written with the current primary key. */
export interface EncryptionTransformer extends ValueTransformer {
  /** Whether `bytes` of `res` would be written differently now (another key, or plaintext). */
  isStale(res: string, bytes: Uint8Array): boolean;
  /** Whether values of `res` are transformed at all. */
  covers(res: string): boolean;
}

/** The store transformer for `config` (validated; throws one sentence on a bad configuration). */
export function encryptionTransformer(config: EncryptionConfiguration): EncryptionTransformer {
  validateEncryptionConfig(config);
  const plans = new Map<string, Plan | null>();
  const planFor = (res: string): Plan | null => {
    if (plans.has(res)) return plans.get(res)!;
    const rule = ruleFor(config, res);
    let plan: Plan | null = null;
    if (rule) {
      const keys = new Map<string, Key>();
      for (const p of rule.providers) {
        if ("aesgcm" in p) {
          for (const k of p.aesgcm.keys) {
            if (!keys.has(k.name)) keys.set(k.name, { name: k.name, bytes: keyBytes(k) });
          }
        }
      }
      const first = rule.providers[0];
      const write = "aesgcm" in first ? keys.get(first.aesgcm.keys[0].name)! : null;
      plan = { write, keys, identity: rule.providers.some((p) => "identity" in p) };
    }
    plans.set(res, plan);
    return plan;
  };
  return {
    covers: (res) => planFor(res) !== null,
    toStorage(res, bytes) {
      const plan = planFor(res);
      if (!plan?.write) return bytes;
      return seal(plan.write, bytes, encoder.encode(res));
    },
    fromStorage(res, bytes) {
      const plan = planFor(res);
      if (!plan) return bytes;
      const name = keyNameOf(bytes);
      if (name === null) {
        if (plan.identity) return bytes;
        throw new Error(
          `stored ${res} value is not encrypted and the identity provider is not configured for it`,
        );
      }
      const key = plan.keys.get(name);
      if (!key) {
        throw new Error(`stored ${res} value is encrypted with key "${name}", which is not configured`);
      }
      return open(key, bytes, encoder.encode(res));
    },
    isStale(res, bytes) {
      const plan = planFor(res);
      if (!plan) return false;
      const name = keyNameOf(bytes);
      return plan.write ? name !== plan.write.name : name !== null;
    },
  };
}
