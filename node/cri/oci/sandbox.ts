/**
 * The pieces of an OCI pod sandbox besides its address: the files the node manages for the pod
 * (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`) and the pod's IPC and UTS namespaces, kept
 * alive as bind mounts inside the agent's mount namespace (no pause process: containers join
 * them by path, as they join the network namespace).
 * @module
 */
import { type MountNamespace, shq } from "../../mountns/mount_ns.ts";

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

/** Writes the managed files into `dir`. */
export async function writePodFiles(dir: string, ip: string | undefined, hostname: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/hosts`, etcHosts(ip, hostname));
  await Deno.writeTextFile(`${dir}/hostname`, `${hostname}\n`);
  let resolv = "";
  try {
    resolv = podResolvConf(await Deno.readTextFile("/etc/resolv.conf"));
  } catch { /* none */ }
  await Deno.writeTextFile(`${dir}/resolv.conf`, resolv);
}

/** Creates the pod's IPC and UTS namespaces (`<dir>/ipc`, `<dir>/uts`), with its hostname set. */
export async function createPodNamespaces(ns: MountNamespace, dir: string, hostname: string): Promise<void> {
  await ns.sh(
    `: > ipc; : > uts; unshare --ipc=ipc --uts=uts hostname ${shq(hostname.slice(0, 64))}`,
    { wd: dir },
  );
}

/** Releases the pod's IPC and UTS namespaces (idempotent). */
export async function removePodNamespaces(ns: MountNamespace, dir: string): Promise<void> {
  await ns.sh(
    `for f in ipc uts; do if grep -qF " ${dir}/$f " /proc/self/mountinfo; then umount -l "${dir}/$f"; fi; done`,
  ).catch(() => {});
}
