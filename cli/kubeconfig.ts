/**
 * The kubeconfig `up` writes next to its state: cluster `skiff` (with the cluster CA as
 * `certificate-authority-data` when the server speaks HTTPS), user `admin` (with its bearer
 * token), context `skiff`.
 * @module
 */
import { stringify } from "yaml";

/** The credentials a kubeconfig carries. */
export interface KubeconfigCredentials {
  /** The CA certificate (PEM) that signs the server's certificate. */
  caCert?: string;
  /** The user's bearer token. */
  token?: string;
  /** The user's name in the kubeconfig (default `admin`). */
  user?: string;
}

/** The kubeconfig document for an API server at `server`. */
export function kubeconfigFor(server: string, creds: KubeconfigCredentials = {}): Record<string, unknown> {
  const user = creds.user ?? "admin";
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "skiff",
      cluster: { server, ...(creds.caCert ? { "certificate-authority-data": btoa(creds.caCert) } : {}) },
    }],
    users: [{ name: user, user: creds.token ? { token: creds.token } : {} }],
    contexts: [{ name: "skiff", context: { cluster: "skiff", user, namespace: "default" } }],
    "current-context": "skiff",
    preferences: {},
  };
}

/** The kubeconfig as YAML text. */
export function kubeconfigYaml(server: string, creds: KubeconfigCredentials = {}): string {
  return stringify(kubeconfigFor(server, creds));
}

/** Writes the kubeconfig for `server` to `path` atomically (owner-only permissions). */
export async function writeKubeconfig(path: string, server: string, creds: KubeconfigCredentials = {}): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, kubeconfigYaml(server, creds), { mode: 0o600 });
  await Deno.rename(tmp, path);
}
