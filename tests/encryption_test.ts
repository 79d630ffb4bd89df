/**
 * Encryption at rest against a real API server on a real KV file: Secret values never reach the
 * file in the clear, and `./skiff secrets rotate` + `reencrypt` keep every Secret readable while
 * moving them to the new key.
 */
import assert from "node:assert/strict";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import {
  ENCRYPTION_FILE,
  loadOrCreateEncryptionConfig,
  readEncryptionConfig,
  secretsCommand,
  writeEncryptionConfig,
} from "../cli/secrets.ts";
import { Client, R } from "../control/api/client.ts";
import { type EncryptionConfiguration, encryptionTransformer } from "../control/apiserver/encryption/mod.ts";
import { keysInUse } from "../control/apiserver/encryption/reencrypt.ts";
import { startControlPlane } from "../control/mod.ts";
import { kubectlPath, kubectlTest, tempDir } from "./harness.ts";

const VALUE = "correct-horse-battery-staple-8c1f";

/** Every byte SQLite keeps for the KV file: the database, its WAL and shared memory. */
async function kvFileBytes(dir: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith("state.kv")) parts.push(await Deno.readFile(`${dir}/${e.name}`));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function contains(haystack: Uint8Array, needle: string): boolean {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

async function withCluster<T>(
  dir: string,
  config: EncryptionConfiguration | null,
  fn: (client: Client, kubeconfig: string) => Promise<T>,
) {
  const cp = await startControlPlane({
    kvPath: `${dir}/state.kv`,
    port: 0,
    store: config ? { transformer: encryptionTransformer(config) } : undefined,
  });
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await writeKubeconfig(kubeconfig, cp.url);
    return await fn(new Client({ server: cp.url }), kubeconfig);
  } finally {
    await cp.close();
  }
}

async function kubectl(
  kubeconfig: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(kubectlPath()!, {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const secret = (name: string, value: string) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: "default" },
  stringData: { password: value },
});

kubectlTest(
  "a Secret value written through kubectl is not in the KV file, and reads back intact",
  async () => {
    await using dir = await tempDir("skiff-encryption-");
    const config = await loadOrCreateEncryptionConfig(dir.path);
    await withCluster(dir.path, config, async (_client, kubeconfig) => {
      const created = await kubectl(kubeconfig, [
        "create",
        "secret",
        "generic",
        "db",
        `--from-literal=password=${VALUE}`,
      ]);
      assert.equal(created.code, 0, created.stderr);
      const read = await kubectl(kubeconfig, ["get", "secret", "db", "-o", "jsonpath={.data.password}"]);
      assert.equal(atob(read.stdout), VALUE);
    });
    const bytes = await kvFileBytes(dir.path);
    assert.ok(contains(bytes, "k8s:enc:aesgcm:v1:key-1:"), "the encrypted value is in the file");
    assert.equal(contains(bytes, VALUE), false, "the plaintext value is in the KV file");
    assert.equal(contains(bytes, btoa(VALUE)), false, "the base64 value is in the KV file");
    assert.equal((await Deno.stat(`${dir.path}/${ENCRYPTION_FILE}`)).mode! & 0o777, 0o600);
  },
);

Deno.test("without an encryption configuration the same Secret value is readable in the KV file", async () => {
  // The control for the test above: the byte scan does find a value stored in the clear.
  await using dir = await tempDir("skiff-plaintext-");
  await withCluster(dir.path, null, (client) => client.create(R.secrets, secret("db", VALUE)));
  assert.ok(contains(await kvFileBytes(dir.path), btoa(VALUE)));
});

Deno.test("rotate and reencrypt move every Secret to the new key and keep all of them readable", async () => {
  await using dir = await tempDir("skiff-rotate-");
  const run = (verb: string) =>
    secretsCommand.run({
      root: "",
      cwd: dir.path,
      flags: { "data-dir": dir.path },
      args: [verb],
      commands: [],
    });
  await withCluster(
    dir.path,
    await loadOrCreateEncryptionConfig(dir.path),
    (client) => client.create(R.secrets, secret("old", "first")),
  );
  assert.equal(await run("rotate"), 0);
  const rotated = (await readEncryptionConfig(dir.path))!;
  const keys = rotated.resources[0].providers.flatMap((
    p,
  ) => ("aesgcm" in p ? p.aesgcm.keys.map((k) => k.name) : []));
  assert.deepEqual(keys, ["key-2", "key-1"]);
  // The restarted cluster reads the old Secret and writes new ones with key-2.
  await withCluster(dir.path, rotated, async (client) => {
    assert.equal(atob((await client.get(R.secrets, "default", "old")).data.password), "first");
    await client.create(R.secrets, secret("new", "second"));
  });
  const kv = await Deno.openKv(`${dir.path}/state.kv`);
  const before = await keysInUse(kv, ["secrets"]);
  kv.close();
  assert.ok(before["key-1"] > 0 && before["key-2"] > 0, JSON.stringify(before));

  assert.equal(await run("reencrypt"), 0);
  const kv2 = await Deno.openKv(`${dir.path}/state.kv`);
  assert.deepEqual(Object.keys(await keysInUse(kv2, ["secrets"])), ["key-2"]);
  kv2.close();
  // With key-1 removed, every Secret still reads back.
  const withoutOld = structuredClone(rotated);
  const provider = withoutOld.resources[0].providers[0];
  if ("aesgcm" in provider) provider.aesgcm.keys = provider.aesgcm.keys.filter((k) => k.name === "key-2");
  await writeEncryptionConfig(dir.path, withoutOld);
  await withCluster(dir.path, withoutOld, async (client) => {
    const list = await client.list(R.secrets, "default");
    const values = Object.fromEntries(list.items.map((s) => [s.metadata.name, atob(s.data.password)]));
    assert.deepEqual(values, { old: "first", new: "second" });
  });
});

Deno.test("reencrypt refuses to run while ./skiff up holds the data dir", async () => {
  await using dir = await tempDir("skiff-locked-");
  await withCluster(dir.path, await loadOrCreateEncryptionConfig(dir.path), () => Promise.resolve());
  const { acquireDataDirLock } = await import("../cli/lock.ts");
  await using _lock = await acquireDataDirLock(dir.path);
  await assert.rejects(
    secretsCommand.run({
      root: "",
      cwd: dir.path,
      flags: { "data-dir": dir.path },
      args: ["reencrypt"],
      commands: [],
    }),
    /is in use by another \.\/skiff up/,
  );
});
