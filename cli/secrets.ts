/**
 * `./skiff secrets rotate|reencrypt --data-dir DIR`: the encryption-at-rest keys of a cluster.
 *
 * The keys live in `<data-dir>/encryption.json` (upstream's `EncryptionConfiguration`, mode
 * 0600), which `./skiff up` creates on first start and hands to the API server as an option.
 * - `rotate` adds a new primary key; older keys keep decrypting. Restart `./skiff up` to use it.
 * - `reencrypt` rewrites every encrypted object not written with the primary key, then compacts
 *   the change log so no version under a retired key remains. It works on the KV file directly,
 *   with the cluster stopped (it takes the data-dir lock, so it refuses while `./skiff up` runs).
 * @module
 */
import { resolve } from "node:path";
import {
  defaultEncryptionConfig,
  type EncryptionConfiguration,
  encryptionTransformer,
  newKey,
  nextKeyName,
  reencrypt,
  rotateKey,
  ruleFor,
  validateEncryptionConfig,
} from "../control/apiserver/encryption/mod.ts";
import type { Command } from "./args.ts";
import { CliError } from "./errors.ts";
import { acquireDataDirLock } from "./lock.ts";

/** The key file's name inside the data dir. */
export const ENCRYPTION_FILE = "encryption.json";

/** Reads `<dataDir>/encryption.json`; null when it does not exist. Throws CliError when it is bad. */
export async function readEncryptionConfig(dataDir: string): Promise<EncryptionConfiguration | null> {
  const path = `${dataDir}/${ENCRYPTION_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return validateEncryptionConfig(JSON.parse(text));
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
}

/** Writes the key file atomically, readable by its owner only. */
export async function writeEncryptionConfig(dataDir: string, config: EncryptionConfiguration): Promise<void> {
  const path = `${dataDir}/${ENCRYPTION_FILE}`;
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/**
 * The cluster's encryption configuration, created with a fresh key on first use: what `./skiff up`
 * passes to the API server (`store: { transformer: encryptionTransformer(config) }`).
 */
export async function loadOrCreateEncryptionConfig(dataDir: string): Promise<EncryptionConfiguration> {
  const existing = await readEncryptionConfig(dataDir);
  if (existing) return existing;
  const config = defaultEncryptionConfig(newKey("key-1"));
  await writeEncryptionConfig(dataDir, config);
  return config;
}

/** `rotate`: a new primary key. Returns the lines to print. */
export async function rotate(dataDir: string): Promise<string[]> {
  const config = await readEncryptionConfig(dataDir);
  if (!config) {
    await loadOrCreateEncryptionConfig(dataDir);
    return [`created ${dataDir}/${ENCRYPTION_FILE} with key key-1 (./skiff up encrypts Secrets with it)`];
  }
  const name = nextKeyName(config);
  let rotated: EncryptionConfiguration;
  try {
    rotated = rotateKey(config, newKey(name));
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  await writeEncryptionConfig(dataDir, rotated);
  const older =
    (ruleFor(config, "secrets")?.providers.flatMap((p) => ("aesgcm" in p ? p.aesgcm.keys : [])) ?? []).map((
      k,
    ) => k.name);
  return [
    `added key ${name} as the primary encryption key${
      older.length ? ` (${older.join(", ")} still ${older.length === 1 ? "decrypts" : "decrypt"})` : ""
    }`,
    `restart ./skiff up to encrypt new writes with it, then stop it and run: ./skiff secrets reencrypt --data-dir ${dataDir}`,
  ];
}

/** `reencrypt`: rewrites stale objects offline. Returns the lines to print. */
export async function reencryptDataDir(dataDir: string): Promise<string[]> {
  const config = await readEncryptionConfig(dataDir);
  if (!config) throw new CliError(`${dataDir}/${ENCRYPTION_FILE} does not exist; nothing is encrypted yet`);
  const kvPath = `${dataDir}/state.kv`;
  try {
    await Deno.stat(kvPath);
  } catch {
    throw new CliError(
      `${kvPath} does not exist; start the cluster with ./skiff up --data-dir ${dataDir} first`,
    );
  }
  await using _lock = await acquireDataDirLock(dataDir);
  const kv = await Deno.openKv(kvPath);
  try {
    const result = await reencrypt(kv, encryptionTransformer(config));
    const primary = ruleFor(config, "secrets")?.providers[0];
    const primaryName = primary && "aesgcm" in primary ? primary.aesgcm.keys[0].name : "identity";
    const counts = Object.entries(result.rewritten).map(([res, n]) => `${res}: ${n}`);
    const lines = [
      counts.length
        ? `re-encrypted with ${primaryName}: ${counts.join(", ")}`
        : `everything is already encrypted with ${primaryName}`,
    ];
    const inUse = Object.entries(result.inUse).sort().map(([k, n]) => `${k}: ${n}`);
    lines.push(`stored values by key: ${inUse.length ? inUse.join(", ") : "none"}`);
    const retired = ruleFor(config, "secrets")?.providers.flatMap((
      p,
    ) => ("aesgcm" in p ? p.aesgcm.keys.slice(p === primary ? 1 : 0) : []))
      .map((k) => k.name).filter((n) => !(n in result.inUse)) ?? [];
    if (retired.length) {
      lines.push(
        `no stored value uses ${
          retired.join(", ")
        } any more: they may be removed from ${dataDir}/${ENCRYPTION_FILE}`,
      );
    }
    return lines;
  } finally {
    kv.close();
  }
}

/** `./skiff secrets`. */
export const secretsCommand: Command = {
  name: "secrets",
  summary: "Rotate the encryption-at-rest key, or re-encrypt stored Secrets with the current key.",
  description:
    "`rotate` adds a new primary key to <data-dir>/encryption.json (older keys still decrypt); restart ./skiff up " +
    "to use it. `reencrypt` rewrites every encrypted object with the primary key and compacts the change log; run it with " +
    "the cluster stopped.",
  usage: "rotate|reencrypt [--data-dir DIR]",
  flags: [
    {
      name: "data-dir",
      type: "string",
      value: "DIR",
      default: "./.skiff",
      description: "The cluster's data dir.",
    },
  ],
  args: "positional",
  packages: [],
  async run({ cwd, flags, args }) {
    const dataDir = resolve(cwd, String(flags["data-dir"]));
    const [verb, ...rest] = args;
    if (rest.length || (verb !== "rotate" && verb !== "reencrypt")) {
      throw new CliError('expected "rotate" or "reencrypt"; see ./skiff secrets --help', 2);
    }
    try {
      await Deno.stat(dataDir);
    } catch {
      throw new CliError(`data dir ${dataDir} does not exist; pass the cluster's --data-dir`);
    }
    const lines = verb === "rotate" ? await rotate(dataDir) : await reencryptDataDir(dataDir);
    for (const line of lines) console.log(line);
    return 0;
  },
};
