/**
 * Named network namespaces (`/run/netns/<name>`, as `ip netns` makes them) for sandboxes:
 * create, delete, list ours (by prefix), and the `nsenter` argv that starts a process inside one.
 * Made and removed with the system calls `ip netns add/del` makes, from the agent through FFI
 * (node/hostcaps/named_netns.ts, no process); with `ip` when FFI cannot be used, or when
 * `SKIFF_NETNS_IP=1` asks for it.
 * @module
 */
import { CniError } from "./api.ts";
import { ip, isExists, isMissing } from "./ip.ts";
import {
  addNamedNetns,
  deleteNamedNetns,
  namedNetnsAvailable,
} from "../hostcaps/named_netns.ts";
import { abSwitch } from "../ab_switch.ts";

let viaFfi: boolean | undefined;
/** Whether namespaces are made through FFI (decided once). */
function ffi(): boolean {
  return viaFfi ??= abSwitch("SKIFF_NETNS_IP") !== "1" && namedNetnsAvailable();
}

/** The name checked as `ip netns` checks it (one path element). */
function checked(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name) || name === "." || name === "..") {
    throw new TypeError(`invalid netns name ${JSON.stringify(name)}`);
  }
  return name;
}

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
  if (ffi()) {
    // The system calls hold the agent's thread (≈0.6 ms, the kernel setting the namespace up):
    // after what the caller does next synchronously (e.g. its first check of a wait it starts).
    await Promise.resolve();
    try {
      addNamedNetns(netnsPath(checked(name)));
    } catch (e) {
      // There already (the file is made with O_EXCL), as `ip netns add` failing with EEXIST.
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    return netnsPath(name);
  }
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
  if (ffi()) return deleteNamedNetns(netnsPath(checked(name)));
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
