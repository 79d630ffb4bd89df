/**
 * The `fetch` a pod's outgoing `wasi:http` requests use: connections leave from the pod's own
 * address (so the node's Service and NetworkPolicy rules see the pod, as for a container), and
 * host names are resolved through the pod's DNS configuration — the cluster DNS, with the
 * namespace's search path and `ndots` — never the node's resolver (without a DNS configuration a
 * name fails as a DNS error).
 *
 * `http:` requests go to the resolved address with the name kept in `Host`; `https:` requests keep
 * their URL (so the TLS server name and certificate check use the name) over a TCP connection to
 * the resolved address. Answers are cached for 5 s (the cluster DNS's TTL); at most 256 pooled
 * clients are kept.
 * @module
 */

/** The DNS part of a pod's configuration (CRI's `DNSConfig`). */
export interface PodDns {
  servers: string[];
  searches: string[];
  options: string[];
}

/** The network identity of a pod's containers. */
export interface PodNetwork {
  /** The pod's address: outgoing connections are bound to it. */
  podIP: string;
  dns?: PodDns;
}

const TTL_MS = 5000;
const MAX_CLIENTS = 256;

function isIP(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** The names to try for `name`, in order (glibc's rules with `ndots`). */
export function searchNames(name: string, dns: PodDns): string[] {
  if (name.endsWith(".")) return [name.slice(0, -1)];
  const opt = dns.options.find((o) => o.startsWith("ndots:"));
  const ndots = opt ? Math.min(15, Number(opt.slice(6)) || 0) : 1;
  const searched = dns.searches.map((s) => `${name}.${s}`);
  return name.split(".").length - 1 >= ndots ? [name, ...searched] : [...searched, name];
}

/** A `fetch` for one pod; `close()` releases its HTTP clients. */
export interface PodFetch {
  fetch: typeof fetch;
  close(): void;
}

export function podFetch(net: PodNetwork): PodFetch {
  const direct = Deno.createHttpClient({ localAddress: net.podIP, allowHost: true });
  const clients = new Map<string, Deno.HttpClient>();
  const cache = new Map<string, { ips: string[]; until: number }>();
  let turn = 0;

  const lookup = async (host: string): Promise<string[]> => {
    const now = Date.now();
    const hit = cache.get(host);
    if (hit && hit.until > now) return hit.ips;
    const dns = net.dns!;
    for (const candidate of searchNames(host, dns)) {
      for (const server of dns.servers) {
        try {
          const ips = await Deno.resolveDns(candidate, "A", { nameServer: { ipAddr: server, port: 53 } });
          if (ips.length) {
            cache.set(host, { ips, until: now + TTL_MS });
            return ips;
          }
          break;
        } catch (e) {
          // The server said the name has no address: the next search name; else the next server.
          if (e instanceof Deno.errors.NotFound) break;
        }
      }
    }
    throw new TypeError(`DNS lookup of ${host} failed: no address (tried ${searchNames(host, dns).join(", ")})`);
  };

  const clientFor = (ip: string, port: number): Deno.HttpClient => {
    const key = `${ip}:${port}`;
    let c = clients.get(key);
    if (c) return c;
    if (clients.size >= MAX_CLIENTS) {
      const [oldest, client] = clients.entries().next().value!;
      clients.delete(oldest);
      client.close();
    }
    c = Deno.createHttpClient({ localAddress: net.podIP, proxy: { transport: "tcp", hostname: ip, port } });
    clients.set(key, c);
    return c;
  };

  const doFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host)) return await fetch(input, { ...init, client: direct });
    if (!net.dns?.servers.length) throw new TypeError(`DNS lookup of ${host} failed: the pod has no resolver`);
    const ips = await lookup(host);
    const ip = ips[turn++ % ips.length];
    if (url.protocol === "https:") {
      return await fetch(input, { ...init, client: clientFor(ip, Number(url.port || 443)) });
    }
    // Origin-form to the address, the name in Host (a TCP-transport client would send the
    // absolute-form request target of a proxy request).
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("host", url.host);
    const target = new URL(url);
    target.hostname = ip;
    return await fetch(target, { ...init, headers, client: direct });
  };

  return {
    fetch: doFetch as typeof fetch,
    close() {
      direct.close();
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
