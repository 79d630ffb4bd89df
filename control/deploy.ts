/**
 * The control plane on Deno Deploy: the API server on the attached KV database, served with
 * `Deno.serve` (Deploy terminates TLS), compaction on `Deno.cron`, audit events on stdout.
 * Nothing else: no subprocesses, no files, no KV queues.
 *
 * Credentials come from environment variables (docs/security.md):
 * - `SKIFF_SERVICE_ACCOUNT_KEY`: PKCS#8 PEM (EC P-256 or RSA) signing ServiceAccount tokens and
 *   node credentials; `SKIFF_SERVICE_ACCOUNT_PUBLIC_KEYS`: older SPKI PEM keys still accepted,
 *   concatenated;
 * - `SKIFF_ADMIN_TOKEN`: the admin's bearer token (`system:masters`);
 * - `SKIFF_ISSUER`, `SKIFF_API_AUDIENCES` (comma-separated), `SKIFF_EXTERNAL_URL`: optional.
 * Without a key the app refuses to start, unless `SKIFF_INSECURE_ALLOW_ALL=true` asks for the
 * development mode in which every request acts as the admin.
 *
 * Deploy it with this file as the entry point (`deno deploy control/deploy.ts`); instances share the
 * database, and each serves the whole API (watches across instances poll, as for local replicas).
 * @module
 */
import type { AuthenticationOptions } from "./apiserver/auth/cluster.ts";
import { ADMIN } from "./apiserver/context.ts";
import { ApiServer } from "./apiserver/server.ts";

/** The authentication options of the environment; null for the insecure mode. Throws when unset. */
export function authenticationFromEnv(env: (name: string) => string | undefined): AuthenticationOptions | null {
  const key = env("SKIFF_SERVICE_ACCOUNT_KEY");
  if (!key) {
    if (env("SKIFF_INSECURE_ALLOW_ALL") === "true") return null;
    throw new Error(
      "set SKIFF_SERVICE_ACCOUNT_KEY (PKCS#8 PEM) and SKIFF_ADMIN_TOKEN, or SKIFF_INSECURE_ALLOW_ALL=true for an open development cluster",
    );
  }
  const publicKeys = (env("SKIFF_SERVICE_ACCOUNT_PUBLIC_KEYS") ?? "")
    .split(/(?=-----BEGIN PUBLIC KEY-----)/).map((s) => s.trim()).filter(Boolean);
  const admin = env("SKIFF_ADMIN_TOKEN");
  const audiences = (env("SKIFF_API_AUDIENCES") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return {
    signingKey: { privateKey: key, publicKeys },
    ...(admin ? { tokens: { [admin]: ADMIN } } : {}),
    ...(env("SKIFF_ISSUER") ? { issuer: env("SKIFF_ISSUER") } : {}),
    ...(audiences.length ? { audiences } : {}),
  };
}

if (import.meta.main) {
  const env = (name: string) => Deno.env.get(name);
  const authentication = authenticationFromEnv(env);
  const kv = await Deno.openKv();
  // Deploy without an attached database silently gives each instance its own store: refuse that.
  const canary = ["m", "deploy-canary"];
  await kv.set(canary, Date.now());
  if ((await kv.get(canary)).value === null) throw new Error("Deno KV is not usable: attach a database to this app");

  const server = new ApiServer({
    kv,
    compactionIntervalMs: 0,
    ...(authentication ? { authentication } : {}),
    audit: { sink: (line) => console.log(line) },
    ...(env("SKIFF_EXTERNAL_URL") ? { externalUrl: env("SKIFF_EXTERNAL_URL") } : {}),
  });
  await server.start();
  Deno.cron("skiff-compaction", "* * * * *", async () => {
    await server.compact();
  });
  Deno.serve(server.fetch);
}
