import assert from "node:assert/strict";
import { AESGCM_PREFIX, encryptionTransformer, keyNameOf } from "./aes_gcm.ts";
import {
  defaultEncryptionConfig,
  type EncryptionConfiguration,
  newKey,
  nextKeyName,
  rotateKey,
  ruleCovers,
  validateEncryptionConfig,
} from "./config.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("the transformer encrypts configured resources with the primary key's prefix and reads them back", () => {
  const config = defaultEncryptionConfig(newKey("key-1"));
  const t = encryptionTransformer(config);
  const plain = enc.encode("top secret value");
  const stored = t.toStorage("secrets", plain);
  assert.equal(dec.decode(stored.subarray(0, AESGCM_PREFIX.length + 6)), "k8s:enc:aesgcm:v1:key-1:");
  assert.equal(dec.decode(stored).includes("top secret"), false);
  assert.equal(keyNameOf(stored), "key-1");
  assert.deepEqual(t.fromStorage("secrets", stored), plain);
  // Two writes of the same value differ (random nonce); other resources are untouched.
  assert.notDeepEqual(t.toStorage("secrets", plain), stored);
  assert.equal(t.toStorage("configmaps", plain), plain);
});

Deno.test("a value cannot be altered, moved to another resource, or read without its key", () => {
  const config: EncryptionConfiguration = {
    resources: [{ resources: ["secrets", "configmaps"], providers: [{ aesgcm: { keys: [newKey("k")] } }] }],
  };
  const t = encryptionTransformer(config);
  const stored = t.toStorage("secrets", enc.encode("value"));
  const tampered = stored.slice();
  tampered[tampered.length - 20] ^= 1;
  assert.throws(() => t.fromStorage("secrets", tampered));
  assert.throws(() => t.fromStorage("configmaps", stored));
  assert.throws(
    () => t.fromStorage("secrets", enc.encode("plaintext")),
    /identity provider is not configured/,
  );
  const other = encryptionTransformer({
    resources: [{ resources: ["secrets"], providers: [{ aesgcm: { keys: [newKey("z")] } }] }],
  });
  assert.throws(
    () => other.fromStorage("secrets", stored),
    /encrypted with key "k", which is not configured/,
  );
});

Deno.test("after rotation the new key encrypts, the old one still decrypts, and old values are stale", () => {
  const first = defaultEncryptionConfig(newKey("key-1"));
  const old = encryptionTransformer(first).toStorage("secrets", enc.encode("v"));
  const rotated = rotateKey(first, newKey(nextKeyName(first)));
  const t = encryptionTransformer(rotated);
  assert.equal(keyNameOf(t.toStorage("secrets", enc.encode("v"))), "key-2");
  assert.equal(dec.decode(t.fromStorage("secrets", old)), "v");
  assert.equal(t.isStale("secrets", old), true);
  assert.equal(t.isStale("secrets", t.toStorage("secrets", enc.encode("v"))), false);
  // Plaintext written before encryption was turned on is read (identity) and stale.
  assert.equal(dec.decode(t.fromStorage("secrets", enc.encode("plain"))), "plain");
  assert.equal(t.isStale("secrets", enc.encode("plain")), true);
});

Deno.test("rule entries cover resources as upstream's resource names and wildcards do", () => {
  assert.ok(ruleCovers("secrets", "secrets"));
  assert.ok(ruleCovers("*.apps", "deployments.apps"));
  assert.ok(ruleCovers("*.", "configmaps"));
  assert.ok(!ruleCovers("*.", "deployments.apps"));
  assert.ok(ruleCovers("*.*", "widgets.example.com"));
});

Deno.test("a bad configuration is refused with one sentence", () => {
  assert.throws(
    () => validateEncryptionConfig({ resources: [{ resources: ["secrets"], providers: [{ kms: {} }] }] }),
    /unsupported provider \["kms"\]/,
  );
  assert.throws(
    () =>
      validateEncryptionConfig({
        resources: [{
          resources: ["secrets"],
          providers: [{ aesgcm: { keys: [{ name: "k", secret: btoa("short") }] } }],
        }],
      }),
    /must be 16, 24 or 32 bytes, got 5/,
  );
});
