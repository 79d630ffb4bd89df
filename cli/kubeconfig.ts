/**
 * The kubeconfig `up` writes next to its state: cluster `skiff`, user `admin`, context `skiff`.
 * @module
 */
import { stringify } from "yaml";

/** The kubeconfig document for an API server at `server`. */
export function kubeconfigFor(server: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "skiff", cluster: { server } }],
    users: [{ name: "admin", user: {} }],
    contexts: [{ name: "skiff", context: { cluster: "skiff", user: "admin", namespace: "default" } }],
    "current-context": "skiff",
    preferences: {},
  };
}

/** The kubeconfig as YAML text. */
export function kubeconfigYaml(server: string): string {
  return stringify(kubeconfigFor(server));
}

/** Writes the kubeconfig for `server` to `path` atomically (owner-only permissions). */
export async function writeKubeconfig(path: string, server: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, kubeconfigYaml(server), { mode: 0o600 });
  await Deno.rename(tmp, path);
}
