/**
 * The cluster's key material in `<data-dir>/pki/`, created by `./skiff up` on first start and
 * reused afterwards:
 *
 * | file | what |
 * |---|---|
 * | `ca.crt`, `ca.key` | the cluster CA (EC P-256, 10 years) |
 * | `apiserver.crt`, `apiserver.key` | the API server's serving certificate (1 year; SANs 127.0.0.1, localhost, the `kubernetes` Service IP 198.19.0.1 and DNS names), re-issued when it nears expiry or lacks a SAN |
 * | `sa.key` | the ES256 key signing ServiceAccount tokens and node credentials |
 * | `admin.token` | the admin's bearer token (the kubeconfig carries it) |
 * | `nodes/<name>.crt`, `.key` | node agents' serving certificates, signed by the CA |
 *
 * Certificates are made with Debian's `openssl` (the CLI's, never the control plane's); private
 * keys and the token are owner-only (0600).
 *
 * @example
 * ```ts
 * const pki = await ensureClusterPki("/var/lib/skiff");
 * const cp = await startControlPlane({ kvPath, port: 6443, ...controlPlaneSecurity(pki) });
 * ```
 * @module
 */
import { generateSigningKey } from "../control/apiserver/auth/keys.ts";
import { ADMIN } from "../control/apiserver/context.ts";
import type { ControlPlaneOptions } from "../control/mod.ts";
import { CliError } from "./errors.ts";

/** The SANs of the API server's certificate (besides any `hosts` asked for). */
export const APISERVER_SANS = [
  "IP:127.0.0.1",
  "DNS:localhost",
  "IP:198.19.0.1",
  "DNS:kubernetes",
  "DNS:kubernetes.default",
  "DNS:kubernetes.default.svc",
  "DNS:kubernetes.default.svc.cluster.local",
];

/** What `./skiff up` hands the control plane and writes into the kubeconfig. */
export interface ClusterPki {
  dir: string;
  /** The CA certificate (PEM). */
  caCert: string;
  /** The API server's certificate and key (PEM). */
  serving: { cert: string; key: string };
  /** The token-signing key (PKCS#8 PEM). */
  serviceAccountKey: string;
  adminToken: string;
}

/** A certificate to issue. */
export interface CertificateRequest {
  commonName: string;
  organization?: string;
  /** `IP:…` / `DNS:…` entries. */
  sans: string[];
  usage: "serverAuth" | "clientAuth";
  days?: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs openssl; throws a CliError with its stderr on failure. */
export async function openssl(args: string[], stdin?: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    const child = new Deno.Command("openssl", { args, stdin: stdin === undefined ? "null" : "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    out = await child.output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new CliError("openssl is not installed (apt-get install openssl)");
    throw e;
  }
  const text = new TextDecoder();
  if (!out.success) throw new CliError(`openssl ${args[0]} failed: ${text.decode(out.stderr).trim()}`);
  return text.decode(out.stdout);
}

async function newKey(path: string): Promise<void> {
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
  await Deno.chmod(path, 0o600);
}

/** Whether the certificate at `path` is valid for 30 more days and names every SAN in `sans`. */
async function stillGood(path: string, sans: string[]): Promise<boolean> {
  if (!await exists(path)) return false;
  try {
    await openssl(["x509", "-in", path, "-noout", "-checkend", String(30 * 24 * 3600)]);
  } catch {
    return false;
  }
  const text = await openssl(["x509", "-in", path, "-noout", "-ext", "subjectAltName"]);
  const have = new Set(
    text.split("\n").slice(1).join(",").split(",").map((s) => s.trim().replace(/^IP Address:/, "IP:")).filter(Boolean),
  );
  return sans.every((s) => have.has(s));
}

/** Creates the CA unless it exists. */
async function ensureCa(dir: string): Promise<void> {
  if (await exists(`${dir}/ca.crt`) && await exists(`${dir}/ca.key`)) return;
  await newKey(`${dir}/ca.key`);
  await openssl([
    "req", "-x509", "-new", "-key", `${dir}/ca.key`, "-sha256", "-days", "3650",
    "-subj", "/CN=skiff-ca",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    "-out", `${dir}/ca.crt`,
  ]);
}

/** Issues `<dir>/<name>.crt` and `.key`, signed by the CA in `caDir`. */
export async function issueCertificate(caDir: string, dir: string, name: string, req: CertificateRequest): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const key = `${dir}/${name}.key`;
  await newKey(key);
  const subject = `/CN=${req.commonName}${req.organization ? `/O=${req.organization}` : ""}`;
  await openssl([
    "req", "-x509", "-new", "-key", key, "-sha256", "-days", String(req.days ?? 365),
    "-CA", `${caDir}/ca.crt`, "-CAkey", `${caDir}/ca.key`,
    "-subj", subject,
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
    "-addext", `extendedKeyUsage=${req.usage}`,
    ...(req.sans.length ? ["-addext", `subjectAltName=${req.sans.join(",")}`] : []),
    "-out", `${dir}/${name}.crt`,
  ]);
}

async function readOrCreate(path: string, make: () => Promise<string>): Promise<string> {
  if (await exists(path)) return (await Deno.readTextFile(path)).trim();
  const value = await make();
  await Deno.writeTextFile(path, value.endsWith("\n") ? value : `${value}\n`, { mode: 0o600 });
  return value.trim();
}

/** A random bearer token (32 bytes, base64url). */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Creates (or reuses) the cluster's CA, serving certificate, signing key and admin token under
 * `<dataDir>/pki`. `hosts` are extra names or IPs the API server is reached at.
 */
export async function ensureClusterPki(dataDir: string, opts: { hosts?: string[] } = {}): Promise<ClusterPki> {
  const dir = `${dataDir}/pki`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await ensureCa(dir);
  const sans = [...APISERVER_SANS, ...(opts.hosts ?? []).map((h) => /^[0-9.:]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)];
  if (!await stillGood(`${dir}/apiserver.crt`, sans)) {
    await issueCertificate(dir, dir, "apiserver", { commonName: "kube-apiserver", sans, usage: "serverAuth" });
  }
  const serviceAccountKey = await readOrCreate(`${dir}/sa.key`, generateSigningKey);
  const adminToken = await readOrCreate(`${dir}/admin.token`, () => Promise.resolve(randomToken()));
  return {
    dir,
    caCert: await Deno.readTextFile(`${dir}/ca.crt`),
    serving: { cert: await Deno.readTextFile(`${dir}/apiserver.crt`), key: await Deno.readTextFile(`${dir}/apiserver.key`) },
    serviceAccountKey: serviceAccountKey + "\n",
    adminToken,
  };
}

/**
 * A node agent's serving certificate (`<pki>/nodes/<name>.crt`, `.key`), signed by the cluster
 * CA, for its endpoint's addresses; re-issued when it nears expiry or lacks an address.
 */
export async function ensureNodeServingCert(
  pki: Pick<ClusterPki, "dir">,
  nodeName: string,
  addresses: string[],
): Promise<{ cert: string; key: string; certFile: string; keyFile: string }> {
  const dir = `${pki.dir}/nodes`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const sans = [`DNS:${nodeName}`, ...addresses.map((a) => /^[0-9.:]+$/.test(a) ? `IP:${a}` : `DNS:${a}`)];
  if (!await stillGood(`${dir}/${nodeName}.crt`, sans)) {
    await issueCertificate(pki.dir, dir, nodeName, {
      commonName: `system:node:${nodeName}`,
      organization: "system:nodes",
      sans,
      usage: "serverAuth",
    });
  }
  const certFile = `${dir}/${nodeName}.crt`;
  const keyFile = `${dir}/${nodeName}.key`;
  return { cert: await Deno.readTextFile(certFile), key: await Deno.readTextFile(keyFile), certFile, keyFile };
}

/** The control-plane options of a PKI: HTTPS, authentication with the admin token, node TLS. */
export function controlPlaneSecurity(
  pki: ClusterPki,
): Required<Pick<ControlPlaneOptions, "tls" | "authentication" | "kubelet">> {
  return {
    tls: pki.serving,
    authentication: {
      signingKey: { privateKey: pki.serviceAccountKey },
      tokens: { [pki.adminToken]: { ...ADMIN, groups: [...ADMIN.groups] } },
    },
    kubelet: { caCerts: [pki.caCert] },
  };
}

/** Base64 of a PEM, as kubeconfigs carry it (`certificate-authority-data`). */
export function pemData(pem: string): string {
  return btoa(pem);
}
