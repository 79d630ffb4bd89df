/**
 * The pieces of an OCI pod sandbox besides its address: the files the node manages for the pod
 * (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`) and the pod's IPC and UTS namespaces, kept
 * alive as bind mounts inside the agent's mount namespace (no pause process: containers join
 * them by path, as they join the network namespace).
 * @module
 */
import { resolvConf } from "../../dns/pod_dns.ts";
import { trace } from "../../../plugins/host/trace.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import type { DnsConfig } from "../api.ts";

/** `/etc/hosts` of a pod, as the kubelet writes it. Pure. */
export function etcHosts(ip: string | undefined, hostname: string): string {
  return [
    "# Kubernetes-managed hosts file.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
    ...(ip ? [`${ip}\t${hostname}`] : []),
    "",
  ].join("\n");
}

/** The host's resolv.conf without loopback nameservers (unreachable from a pod's namespace). */
export function podResolvConf(host: string): string {
  const lines = host.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l));
  return lines.join("\n").trimEnd() + "\n";
}

/**
 * Writes the managed files into `dir`. `/etc/resolv.conf` is the pod's DNS configuration (the
 * kubelet's, from its dnsPolicy and dnsConfig) when the sandbox config has one, else the host's.
 * A `hostNetwork` pod (`ip` undefined) gets the node's hosts file and resolv.conf as they are,
 * as the kubelet gives it.
 */
export function writePodFiles(
  dir: string,
  ip: string | undefined,
  hostname: string,
  dns?: DnsConfig,
): Promise<void> {
  try {
    writePodFilesSync(dir, ip, hostname, dns);
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}

function writePodFilesSync(dir: string, ip: string | undefined, hostname: string, dns?: DnsConfig): void {
  // Synchronous: small files, cheaper on the agent's thread than round trips through the
  // blocking-op pool (this runs on every pod's start path).
  Deno.mkdirSync(dir, { recursive: true });
  const read = (path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return "";
    }
  };
  const hosts = ip ? etcHosts(ip, hostname) : `# Kubernetes-managed hosts file (host network).\n${read("/etc/hosts")}`;
  Deno.writeTextFileSync(`${dir}/hosts`, hosts);
  // The files are written twice per pod start (at once, then with the IP, plugin_oci_runtime.ts):
  // hostname and, with a DNS config, resolv.conf come out the same the second time, and
  // comparing costs the agent a few µs where truncating and rewriting a file costs 50–100 µs.
  const writeChanged = (path: string, text: string) => {
    let now: string | undefined;
    try {
      now = Deno.readTextFileSync(path);
    } catch { /* not there yet */ }
    if (now !== text) Deno.writeTextFileSync(path, text);
  };
  writeChanged(`${dir}/hostname`, `${hostname}\n`);
  const resolv = dns ? resolvConf(dns) : ip ? podResolvConf(read("/etc/resolv.conf")) : read("/etc/resolv.conf");
  writeChanged(`${dir}/resolv.conf`, resolv);
}

/**
 * Creates the pod's namespaces of `kinds` (`<dir>/ipc`, `<dir>/uts`; the UTS one with its
 * hostname set). Kinds not given are the node's (`hostIPC`, `hostNetwork`). The mount
 * namespace's spawner makes them on its own thread, no process (`MountNamespace.unshare`).
 */
export async function createPodNamespaces(
  ns: MountNamespace,
  dir: string,
  hostname: string,
  kinds: readonly ("ipc" | "uts")[] = ["ipc", "uts"],
): Promise<void> {
  if (kinds.length === 0) return;
  trace("ipc-uts>", dir.slice(dir.lastIndexOf("/") + 1));
  await ns.unshare({
    ...(kinds.includes("ipc") ? { ipc: `${dir}/ipc` } : {}),
    ...(kinds.includes("uts") ? { uts: `${dir}/uts`, hostname: hostname.slice(0, 64) } : {}),
  });
}

/** Releases the pod's IPC and UTS namespaces (idempotent). */
export async function removePodNamespaces(ns: MountNamespace, dir: string): Promise<void> {
  await Promise.all(["ipc", "uts"].map((k) => ns.unmount(`${dir}/${k}`, { detach: true }).catch(() => {})));
}
