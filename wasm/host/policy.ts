/**
 * The outgoing `wasi:http` policy of a container: `*`, host names, `host:port` and IPv4 CIDRs.
 * Pure.
 * @module
 */

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** A predicate over request URLs from allow-list entries. */
export function outgoingPolicy(entries: readonly string[]): (url: URL) => boolean {
  const rules = entries.map((e) => {
    if (e === "*") return () => true;
    const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(e);
    if (cidr) {
      const base = ipv4(cidr[1]);
      const bits = Number(cidr[2]);
      if (base === undefined || bits > 32) throw new TypeError(`Invalid CIDR "${e}"`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      return (u: URL) => {
        const ip = ipv4(u.hostname);
        return ip !== undefined && ((ip & mask) >>> 0) === ((base & mask) >>> 0);
      };
    }
    const [host, port] = e.toLowerCase().split(/:(?=\d+$)/);
    return (u: URL) => u.hostname === host && (!port || effectivePort(u) === port);
  });
  return (url) => rules.some((r) => r(url));
}

function effectivePort(u: URL): string {
  return u.port || (u.protocol === "https:" ? "443" : "80");
}
