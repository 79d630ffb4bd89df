/**
 * Encryption at rest of stored objects (Secrets by default): the AES-GCM store transformer and
 * its upstream-shaped `EncryptionConfiguration`.
 *
 * @example
 * ```ts
 * import { defaultEncryptionConfig, encryptionTransformer, newKey } from "./control/apiserver/encryption/mod.ts";
 * const transformer = encryptionTransformer(defaultEncryptionConfig(newKey("key-1")));
 * ```
 * @module
 */
export * from "./aes_gcm.ts";
export * from "./config.ts";
export { reencrypt, type ReencryptResult } from "./reencrypt.ts";
