/**
 * The CNI exec protocol (SPEC.md "Execution protocol"), pure parts: the environment and stdin of
 * each plugin invocation, and the reading of what a plugin printed — a result, a CNI error
 * (`{code, msg, details}`) or a version answer. `invoke.ts` runs the binaries.
 * @module
 */
import { CniError, type CniIp, type CniResult } from "../api.ts";
import type { Conflist, PluginConf } from "./conflist.ts";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" | "VERSION";

/** What identifies an attachment (the container-scoped verbs ADD, DEL, CHECK). */
export interface Attachment {
  containerId: string;
  netns: string;
  ifName: string;
  args?: Record<string, string>;
}

/** `CNI_*` variables of one invocation (STATUS, GC and VERSION get only CNI_COMMAND and CNI_PATH). */
export function invocationEnv(
  command: CniCommand,
  binDirs: string[],
  att?: Attachment,
): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: binDirs.join(":") };
  if (att && (command === "ADD" || command === "DEL" || command === "CHECK")) {
    env.CNI_CONTAINERID = att.containerId;
    env.CNI_NETNS = att.netns;
    env.CNI_IFNAME = att.ifName;
    const args = Object.entries(att.args ?? {});
    if (args.length) env.CNI_ARGS = args.map(([k, v]) => `${k}=${v}`).join(";");
  }
  return env;
}

/**
 * The stdin of one plugin of the list: its configuration with the list's `name` and `cniVersion`
 * injected, plus `prevResult` when there is one (ADD: the previous plugin's result; DEL and CHECK:
 * the cached result of the list's ADD) and, for GC, `cni.dev/valid-attachments`.
 */
export function pluginStdin(
  list: Pick<Conflist, "name" | "cniVersion">,
  plugin: PluginConf,
  extra: { prevResult?: unknown; validAttachments?: { containerID: string; ifname: string }[] } = {},
): string {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  delete conf.prevResult;
  if (extra.prevResult !== undefined) conf.prevResult = extra.prevResult;
  if (extra.validAttachments) conf["cni.dev/valid-attachments"] = extra.validAttachments;
  return JSON.stringify(conf);
}

/** The error a failed invocation reports: the plugin's CNI error, or what it left on stderr. */
export function parseError(
  plugin: string,
  command: CniCommand,
  code: number,
  stdout: string,
  stderr: string,
): CniError {
  let doc: Record<string, unknown> | undefined;
  try {
    const d = JSON.parse(stdout);
    if (d && typeof d === "object" && !Array.isArray(d)) doc = d;
  } catch { /* not JSON */ }
  if (doc && typeof doc.code === "number") {
    const msg = typeof doc.msg === "string" && doc.msg ? doc.msg : `error code ${doc.code}`;
    const details = typeof doc.details === "string" ? doc.details : "";
    return new CniError(
      doc.code,
      `plugin ${plugin} failed (${command}): ${msg}${details ? `: ${details}` : ""}`,
      details,
    );
  }
  const text = (stderr.trim() || stdout.trim()).split("\n").slice(-3).join("; ");
  return new CniError(
    999,
    `plugin ${plugin} failed (${command}) with exit code ${code}${text ? `: ${text}` : ", no error message"}`,
  );
}

const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;

/** Reads an ADD result (SPEC.md "Success"); throws a {@linkcode CniError} (code 999) on garbage. */
export function parseResult(plugin: string, stdout: string): CniResult {
  const bad = (m: string) => new CniError(999, `plugin ${plugin} returned an invalid result: ${m}`);
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(stdout);
  } catch {
    throw bad(`not JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  if (!d || typeof d !== "object" || Array.isArray(d)) throw bad("not a JSON object");
  if (typeof d.cniVersion !== "string") throw bad("cniVersion is missing");
  const list = <T>(k: string): T[] => {
    if (d[k] === undefined) return [];
    if (!Array.isArray(d[k])) throw bad(`${k} is not a list`);
    return d[k] as T[];
  };
  const interfaces = list<{ name: string; mac?: string; sandbox?: string }>("interfaces");
  interfaces.forEach((i, n) => {
    if (!i || typeof i.name !== "string") throw bad(`interfaces[${n}].name is missing`);
  });
  const ips = list<CniIp>("ips");
  ips.forEach((ip, n) => {
    if (!ip || typeof ip.address !== "string" || !CIDR.test(ip.address)) {
      throw bad(`ips[${n}].address ${JSON.stringify(ip?.address)} is not a CIDR`);
    }
    if (ip.interface !== undefined && (typeof ip.interface !== "number" || !interfaces[ip.interface])) {
      throw bad(`ips[${n}].interface ${ip.interface} names no interface`);
    }
  });
  const routes = list<{ dst: string; gw?: string }>("routes");
  routes.forEach((r, n) => {
    if (!r || typeof r.dst !== "string") throw bad(`routes[${n}].dst is missing`);
  });
  const dns = d.dns && typeof d.dns === "object" ? d.dns as CniResult["dns"] : {};
  return { ...d, cniVersion: d.cniVersion, interfaces, ips, routes, dns } as CniResult;
}

/** The pod's address: the first IPv4 address (else the first address) of the result. */
export function primaryIp(result: CniResult): string | undefined {
  const v4 = result.ips.find((i) => i.address.includes("."));
  return (v4 ?? result.ips[0])?.address.split("/")[0];
}

/** Reads a VERSION answer: the versions the plugin supports. */
export function parseVersion(plugin: string, stdout: string): string[] {
  try {
    const d = JSON.parse(stdout);
    if (Array.isArray(d?.supportedVersions)) {
      return d.supportedVersions.filter((v: unknown) => typeof v === "string");
    }
  } catch { /* fallthrough */ }
  throw new CniError(999, `plugin ${plugin} gave no valid VERSION answer`);
}

/** Whether `v` (x.y.z) is at least `min`. */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split(".").map(Number), b = min.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
