/**
 * Named network namespaces (`/run/netns/<name>`, as `ip netns` makes them) for sandboxes:
 * create, delete, list ours (by prefix), and the `nsenter` argv that starts a process inside one.
 * @module
 */
import { CniError } from "./api.ts";
import { ip, isExists, isMissing } from "./ip.ts";

export const NETNS_DIR = "/run/netns";

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** Netns path → name (`/run/netns/<name>` or `/var/run/netns/<name>`); throws CniError 7 otherwise. Pure. */
export function netnsName(path: string): string {
  const m = path.match(/^\/run\/netns\/([^/]+)$/) ?? path.match(/^\/var\/run\/netns\/([^/]+)$/);
  if (!m) throw new CniError(7, `network namespace path ${path} is not under /run/netns`);
  return m[1];
}

/** Creates the namespace (idempotent); resolves to its path. */
export async function createNetns(name: string): Promise<string> {
  try {
    await Deno.stat(netnsPath(name));
    return netnsPath(name); // already there: no need to run `ip`
  } catch { /* create it */ }
  try {
    await ip(["netns", "add", name]);
  } catch (e) {
    if (!isExists(e)) throw e;
  }
  return netnsPath(name);
}

/** Deletes the namespace (idempotent). Interfaces inside it go with it. */
export async function deleteNetns(name: string): Promise<void> {
  try {
    await ip(["netns", "del", name]);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/** Names of existing namespaces starting with `prefix`. */
export function listNetns(prefix: string): string[] {
  try {
    return [...Deno.readDirSync(NETNS_DIR)].map((e) => e.name).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** The argv prefix that runs a command inside the namespace (util-linux `nsenter`). */
export function nsenterArgv(name: string): string[] {
  return ["/usr/bin/nsenter", `--net=${netnsPath(name)}`, "--"];
}
