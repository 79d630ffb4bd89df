/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, on a
 * free port, with a temporary storage directory removed on close. Optionally protected by
 * htpasswd Basic auth, or by the Docker token protocol with a token server (ES256 JWTs signed
 * with a throwaway certificate made by `openssl`) served from this process.
 *
 * @example
 * ```ts ignore
 * import { startRegistry } from "./registry.ts";
 *
 * await using registry = await startRegistry({ auth: "token" });
 * registry.host; // "127.0.0.1:40123"
 * ```
 * @module
 */
import type { Prerequisite } from "./harness.ts";

/** Path of Debian's registry binary. */
export const DOCKER_REGISTRY_BIN = "/usr/bin/docker-registry";

/** The registry binary (Debian package `docker-registry`). */
export const DOCKER_REGISTRY: Prerequisite = {
  name: "docker-registry",
  available: () => isExecutable(DOCKER_REGISTRY_BIN),
  hint: "apt-get install docker-registry",
};

/** `openssl`, for the token server's certificate. */
export const OPENSSL: Prerequisite = {
  name: "openssl",
  available: () => isExecutable("/usr/bin/openssl"),
  hint: "apt-get install openssl",
};

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** How the test registry authenticates. */
export type RegistryAuth = "none" | "htpasswd" | "token";

/** Options of {@linkcode startRegistry}. */
export interface RegistryOptions {
  auth?: RegistryAuth;
  /** The user allowed to pull and push when auth is on (default `skiff` / `s3cret`). */
  username?: string;
  password?: string;
}

/** A running test registry; `await using` stops it and removes its storage. */
export interface TestRegistry extends AsyncDisposable {
  /** `127.0.0.1:<port>`, the registry part of references. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The registry's storage root (blobs can be corrupted here on purpose). */
  storageDir: string;
  username: string;
  password: string;
  /** A `.dockerconfigjson` document holding the credentials. */
  dockerConfig: { auths: Record<string, { auth: string }> };
  /** Token requests answered so far (`token` auth only): their scopes and whether they authenticated. */
  tokenRequests: { scope: string[]; authenticated: boolean }[];
  /** The path of a stored blob's data file. */
  blobDataPath(digest: string): string;
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel's pick; a tiny race is acceptable in tests). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts `docker-registry serve` on 127.0.0.1 and waits until `/v2/` answers. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? "none";
  const username = opts.username ?? "skiff";
  const password = opts.password ?? "s3cret";
  const dir = await Deno.makeTempDir({ prefix: "skiff-registry-" });
  const tokenRequests: TestRegistry["tokenRequests"] = [];
  let tokenServer: Deno.HttpServer<Deno.NetAddr> | undefined;
  let authConfig = "";
  let port = 0, host = "";
  try {
    if (auth === "htpasswd") {
      await Deno.writeTextFile(`${dir}/htpasswd`, `${username}:${bcrypt(password)}\n`);
      authConfig = `auth:\n  htpasswd:\n    realm: skiff-test\n    path: ${dir}/htpasswd\n`;
    } else if (auth === "token") {
      const signer = await makeSigner(dir);
      tokenServer = serveTokens(signer, {
        username,
        password,
        service: "skiff-test-registry",
        requests: tokenRequests,
      });
      const tokenUrl = `http://127.0.0.1:${tokenServer.addr.port}/token`;
      authConfig = `auth:\n  token:\n    realm: ${tokenUrl}\n    service: skiff-test-registry\n` +
        `    issuer: skiff-test-issuer\n    rootcertbundle: ${dir}/token.crt\n`;
    }
    // Picked after the token server is listening, so the two cannot be handed the same port.
    port = freePort();
    host = `127.0.0.1:${port}`;
    const config = [
      "version: 0.1",
      "log:\n  level: error\n  accesslog:\n    disabled: true",
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/storage\n  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory`,
      `http:\n  addr: ${host}\n  secret: ${crypto.randomUUID()}`,
      authConfig,
    ].join("\n");
    await Deno.writeTextFile(`${dir}/config.yml`, config);
  } catch (e) {
    await tokenServer?.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  const child = new Deno.Command(DOCKER_REGISTRY_BIN, {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) stderr = (stderr + decoder.decode(chunk)).slice(-8192);
  })();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await stderrDone;
    await tokenServer?.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const url = `http://${host}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      // Only docker-registry's answer counts: another process may hold a port picked this way.
      const ours = res.headers.get("docker-distribution-api-version") === "registry/2.0";
      if (ours && (res.status === 200 || res.status === 401)) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const basic = btoa(`${username}:${password}`);
  return {
    host,
    url,
    storageDir: `${dir}/storage`,
    username,
    password,
    dockerConfig: { auths: { [host]: { auth: basic } } },
    tokenRequests,
    blobDataPath: (digest: string) => {
      const hex = digest.replace(/^sha256:/, "");
      return `${dir}/storage/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

// ---------------------------------------------------------------------------------------------
// htpasswd: bcrypt through libcrypt's crypt(3) (libxcrypt, part of every Debian system)

function bcrypt(password: string): string {
  const lib = Deno.dlopen("libcrypt.so.1", {
    crypt: { parameters: ["buffer", "buffer"], result: "pointer" },
    crypt_gensalt: { parameters: ["buffer", "u64", "pointer", "i32"], result: "pointer" },
  });
  try {
    const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);
    const salt = lib.symbols.crypt_gensalt(cstr("$2b$"), 5n, null, 0);
    if (!salt) throw new Error("crypt_gensalt failed");
    const saltText = Deno.UnsafePointerView.getCString(salt);
    const hashed = lib.symbols.crypt(cstr(password), cstr(saltText));
    if (!hashed) throw new Error("crypt failed");
    return Deno.UnsafePointerView.getCString(hashed);
  } finally {
    lib.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Token server

interface Signer {
  key: CryptoKey;
  certDer: Uint8Array;
}

async function makeSigner(dir: string): Promise<Signer> {
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/token.key`,
      "-out",
      `${dir}/token.crt`,
      "-days",
      "2",
      "-subj",
      "/CN=skiff-test-token",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
  const pemBody = (pem: string) =>
    Uint8Array.from(atob(pem.replace(/-----[A-Z ]+-----|\s/g, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey(
    "pkcs8",
    pemBody(await Deno.readTextFile(`${dir}/token.key`)),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  return { key, certDer: pemBody(await Deno.readTextFile(`${dir}/token.crt`)) };
}

function b64url(bytes: Uint8Array | string): string {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let bin = "";
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64(bytes: Uint8Array): string {
  let bin = "";
  for (const x of bytes) bin += String.fromCharCode(x);
  return btoa(bin);
}

function serveTokens(
  signer: Signer,
  opts: { username: string; password: string; service: string; requests: TestRegistry["tokenRequests"] },
): Deno.HttpServer<Deno.NetAddr> {
  const expected = `Basic ${btoa(`${opts.username}:${opts.password}`)}`;
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
    const header = req.headers.get("authorization");
    if (header && header !== expected) {
      opts.requests.push({ scope: scopes, authenticated: false });
      return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad user name or password" }] }, {
        status: 401,
      });
    }
    const authenticated = header === expected;
    opts.requests.push({ scope: scopes, authenticated });
    const access = authenticated
      ? scopes.map((s) => {
        const [type, ...rest] = s.split(":");
        const actions = rest.pop()!.split(",");
        return { type, name: rest.join(":"), actions };
      })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header64 = b64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [b64(signer.certDer)] }));
    const claims = b64url(JSON.stringify({
      iss: "skiff-test-issuer",
      sub: authenticated ? opts.username : "",
      aud: opts.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    }));
    const sig = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        signer.key,
        new TextEncoder().encode(`${header64}.${claims}`),
      ),
    );
    const token = `${header64}.${claims}.${b64url(sig)}`;
    return Response.json({
      token,
      access_token: token,
      expires_in: 300,
      issued_at: new Date().toISOString(),
    });
  });
}
