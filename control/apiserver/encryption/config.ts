/**
 * Encryption at rest configuration: upstream's `EncryptionConfiguration`
 * (`apiserver.config.k8s.io/v1`) in JSON, restricted to the `aesgcm` and `identity` providers.
 * Each rule names resources (`secrets`, `deployments.apps`, `*.apps`, `*.` for the core group,
 * `*.*` for all) and an ordered provider list: the first provider writes, every provider reads.
 * Within `aesgcm` the first key encrypts and every key decrypts. Pure.
 *
 * @example
 * ```ts
 * const config = defaultEncryptionConfig(newKey("key-1"));
 * const rotated = rotateKey(config, newKey("key-2")); // key-2 now encrypts; key-1 still decrypts
 * ```
 * @module
 */

/** One AES key: a name (written into the stored value's prefix) and 16, 24 or 32 bytes in base64. */
export interface EncryptionKey {
  name: string;
  secret: string;
}

export type Provider = { aesgcm: { keys: EncryptionKey[] } } | { identity: Record<string, never> };

export interface ResourceRule {
  resources: string[];
  providers: Provider[];
}

export interface EncryptionConfiguration {
  kind?: string;
  apiVersion?: string;
  resources: ResourceRule[];
}

export const KIND = "EncryptionConfiguration";
export const API_VERSION = "apiserver.config.k8s.io/v1";

/** A fresh 256-bit key. */
export function newKey(name: string): EncryptionKey {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return { name, secret: btoa(String.fromCharCode(...bytes)) };
}

/** The configuration `./skiff up` starts with: Secrets encrypted with `key`, plaintext still readable. */
export function defaultEncryptionConfig(key: EncryptionKey): EncryptionConfiguration {
  return {
    kind: KIND,
    apiVersion: API_VERSION,
    resources: [{ resources: ["secrets"], providers: [{ aesgcm: { keys: [key] } }, { identity: {} }] }],
  };
}

/** Decodes a key's secret, checking its length. */
export function keyBytes(key: EncryptionKey): Uint8Array {
  let raw: string;
  try {
    raw = atob(key.secret);
  } catch {
    throw new Error(`encryption key "${key.name}": secret is not valid base64`);
  }
  if (![16, 24, 32].includes(raw.length)) {
    throw new Error(`encryption key "${key.name}": secret must be 16, 24 or 32 bytes, got ${raw.length}`);
  }
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Checks a parsed configuration, throwing one sentence naming the first problem. */
export function validateEncryptionConfig(config: unknown): EncryptionConfiguration {
  const c = config as EncryptionConfiguration;
  if (!c || typeof c !== "object" || !Array.isArray(c.resources)) {
    throw new Error("encryption configuration: resources must be a list");
  }
  if (c.kind !== undefined && c.kind !== KIND) {
    throw new Error(`encryption configuration: kind must be ${KIND}`);
  }
  const names = new Set<string>();
  c.resources.forEach((rule, i) => {
    if (!Array.isArray(rule?.resources) || !rule.resources.length) {
      throw new Error(`encryption configuration: resources[${i}].resources must name at least one resource`);
    }
    if (!Array.isArray(rule.providers) || !rule.providers.length) {
      throw new Error(`encryption configuration: resources[${i}].providers must list at least one provider`);
    }
    for (const p of rule.providers) {
      const kinds = Object.keys(p ?? {});
      if (kinds.length !== 1 || !["aesgcm", "identity"].includes(kinds[0])) {
        throw new Error(
          `encryption configuration: resources[${i}]: unsupported provider ${
            JSON.stringify(kinds)
          } (supported: aesgcm, identity)`,
        );
      }
      if ("aesgcm" in p) {
        if (!Array.isArray(p.aesgcm?.keys) || !p.aesgcm.keys.length) {
          throw new Error(`encryption configuration: resources[${i}]: aesgcm needs at least one key`);
        }
        for (const k of p.aesgcm.keys) {
          if (!k?.name || /[:\s]/.test(k.name)) {
            throw new Error(
              `encryption configuration: key name ${
                JSON.stringify(k?.name)
              } must be non-empty without ':' or spaces`,
            );
          }
          keyBytes(k);
          names.add(k.name);
        }
      }
    }
  });
  return c;
}

/** Whether a rule's resource entry covers a storage key (`secrets`, `deployments.apps`). */
export function ruleCovers(entry: string, resourceKey: string): boolean {
  if (entry === "*.*" || entry === resourceKey) return true;
  const dot = resourceKey.indexOf(".");
  const group = dot < 0 ? "" : resourceKey.slice(dot + 1);
  return entry.startsWith("*.") && entry.slice(2) === group;
}

/** The rule for a storage key: the first rule naming it (upstream's order), or none. */
export function ruleFor(config: EncryptionConfiguration, resourceKey: string): ResourceRule | undefined {
  return config.resources.find((r) => r.resources.some((e) => ruleCovers(e, resourceKey)));
}

/** Every key name in use in the configuration. */
export function keyNames(config: EncryptionConfiguration): string[] {
  return config.resources.flatMap((r) =>
    r.providers.flatMap((p) => ("aesgcm" in p ? p.aesgcm.keys.map((k) => k.name) : []))
  );
}

/** The next free `key-<n>` name. */
export function nextKeyName(config: EncryptionConfiguration): string {
  const used = keyNames(config).map((n) => /^key-(\d+)$/.exec(n)?.[1]).filter(Boolean).map(Number);
  return `key-${Math.max(0, ...used) + 1}`;
}

/**
 * Adds `key` as the primary (first) key of every rule that encrypts with aesgcm; older keys stay
 * to decrypt what they wrote. A rule whose first provider is identity is left as it is.
 */
export function rotateKey(config: EncryptionConfiguration, key: EncryptionKey): EncryptionConfiguration {
  const next = structuredClone(config);
  let rotated = false;
  for (const rule of next.resources) {
    const first = rule.providers[0];
    if (first && "aesgcm" in first) {
      first.aesgcm.keys.unshift(key);
      rotated = true;
    }
  }
  if (!rotated) throw new Error("no resource is encrypted with aesgcm: nothing to rotate");
  return next;
}
