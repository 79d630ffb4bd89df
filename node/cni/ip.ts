/**
 * Runs iproute2's `ip` (Debian package `iproute2`): single commands, and batches (`ip -b -`), one
 * process for many changes, optionally inside a named network namespace (`ip -n NS -b -`).
 * @module
 */

/** `ip` failed; `stderr` says why. */
export class IpError extends Error {
  override name = "IpError";
  constructor(readonly args: string[], readonly stderr: string, readonly code: number) {
    super(`ip ${args.join(" ")} failed (${code}): ${stderr.trim()}`);
  }
}

const IP = "/usr/sbin/ip";
const dec = new TextDecoder();

/** Whether iproute2 is installed. */
export function ipAvailable(): boolean {
  try {
    return Deno.statSync(IP).isFile;
  } catch {
    return false;
  }
}

/** Runs `ip <args>`; resolves to stdout. */
export function ip(args: string[], stdin?: string): Promise<string> {
  return run(IP, args, stdin);
}

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) throw new IpError(args, dec.decode(out.stderr), out.code);
  return dec.decode(out.stdout);
}

/**
 * Runs several `ip` commands (without the leading `ip`) in one process, in netns `ns` if given.
 * `sysctls` (e.g. `net.ipv4.conf.eth0.promote_secondaries`) are set inside that namespace first,
 * in the same process (`nsenter` + `sh`).
 */
export async function ipBatch(
  lines: string[],
  opts: { ns?: string; force?: boolean; sysctls?: Record<string, string> } = {},
): Promise<void> {
  if (lines.length === 0) return;
  const flags = [...(opts.force ? ["-force"] : []), "-batch", "-"];
  const stdin = lines.join("\n") + "\n";
  if (!opts.ns || !opts.sysctls) {
    await ip([...(opts.ns ? ["-n", opts.ns] : []), ...flags], stdin);
    return;
  }
  const sets = Object.entries(opts.sysctls).map(([k, v]) => {
    if (!/^[a-z0-9_.-]+$/i.test(k) || !/^[0-9a-z]+$/i.test(v)) throw new TypeError(`bad sysctl ${k}=${v}`);
    return `echo ${v} > /proc/sys/${k.replaceAll(".", "/")}`;
  });
  // The interface may appear a moment after the batch creates it: set the sysctls after the batch.
  const script = `${IP} ${flags.join(" ")} && ${sets.join(" && ")}`;
  await run("/usr/bin/nsenter", [`--net=/run/netns/${opts.ns}`, "--", "/bin/sh", "-c", script], stdin);
}

/** `ip -j <args>` parsed. */
export async function ipJson<T = unknown>(args: string[]): Promise<T> {
  const out = await ip(["-j", ...args]);
  return (out.trim() ? JSON.parse(out) : []) as T;
}

/** Whether the error says the thing already exists / does not exist. */
export function isExists(e: unknown): boolean {
  return e instanceof IpError && /File exists|already exists/i.test(e.stderr);
}

export function isMissing(e: unknown): boolean {
  return e instanceof IpError &&
    /Cannot find device|does not exist|No such file|Cannot assign requested address|not found/i.test(
      e.stderr,
    );
}

/** The IPv4 subnets on this machine's interfaces (`198.18.4.0/22` for an address `198.18.4.1/22`), except on `skip`. */
export async function localSubnets(skip?: string): Promise<string[]> {
  const links = await ipJson<
    { ifname: string; addr_info?: { family: string; local: string; prefixlen: number }[] }[]
  >(["addr", "show"]);
  const out: string[] = [];
  for (const l of links) {
    if (l.ifname === skip) continue;
    for (const a of l.addr_info ?? []) {
      if (a.family !== "inet") continue;
      const n = a.local.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
      const mask = a.prefixlen === 0 ? 0 : (0xffffffff << (32 - a.prefixlen)) >>> 0;
      const base = (n & mask) >>> 0;
      out.push(
        `${[base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join(".")}/${a.prefixlen}`,
      );
    }
  }
  return out;
}
