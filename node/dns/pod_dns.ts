/**
 * A pod's DNS configuration, as the kubelet computes it (`GetPodDNS` in
 * `pkg/kubelet/network/dns`): `dnsPolicy` ClusterFirst (the default) points the pod at the
 * cluster DNS with the search path `<ns>.svc.<zone> svc.<zone> <zone>` (then the node's own
 * search domains) and `ndots:5`; `Default` copies the node's resolv.conf; `None` uses only
 * `dnsConfig`; `ClusterFirstWithHostNet` is ClusterFirst even for hostNetwork pods (a
 * hostNetwork pod with ClusterFirst gets `Default`). `dnsConfig` nameservers and searches are
 * appended, its options merged by name. Pure.
 *
 * The container runtime writes {@linkcode resolvConf} of the result into the container's
 * `/etc/resolv.conf`; the Wasm runtime hands the result to the component host, which resolves
 * outgoing `wasi:http` names with it.
 *
 * @example
 * ```ts
 * const dns = podDnsConfig(pod, { servers: ["198.18.0.1"], domain: "cluster.local" });
 * await Deno.writeTextFile(`${rootfs}/etc/resolv.conf`, resolvConf(dns));
 * ```
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";

/** CRI's `DNSConfig`: what a sandbox's resolv.conf says. */
export interface DnsConfig {
  servers: string[];
  searches: string[];
  /** `ndots:5`, `timeout:2`, `edns0`, ... */
  options: string[];
}

/** The node's DNS settings (kubelet `--cluster-dns`, `--cluster-domain`, `--resolv-conf`). */
export interface ClusterDnsSettings {
  /** Cluster DNS server addresses (Skiff: the node's bridge gateway). */
  servers: string[];
  /** The cluster domain (default `cluster.local`). */
  domain?: string;
  /** The node's own resolver configuration (text of resolv.conf; default none). */
  hostResolvConf?: string;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_CHARS = 2048;

/** Parses resolv.conf text: nameservers, search domains (the last `search`/`domain` line) and options. */
export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (!line) continue;
    const [key, ...values] = line.split(/\s+/);
    if (key === "nameserver" && values[0]) out.servers.push(values[0]);
    else if (key === "search") out.searches = values.map((v) => v.replace(/\.$/, "")).filter((v) => v !== "");
    else if (key === "domain" && values[0]) out.searches = [values[0].replace(/\.$/, "")];
    else if (key === "options") out.options.push(...values);
  }
  return out;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** Options merged by name (`ndots:2` replaces `ndots:5`), later ones winning. */
export function mergeOptions(base: string[], extra: string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...base, ...extra]) byName.set(o.split(":")[0], o);
  return [...byName.values()];
}

function limitSearches(searches: string[]): string[] {
  const out: string[] = [];
  let chars = 0;
  for (const s of searches) {
    if (out.length === MAX_SEARCH_PATHS || chars + s.length + (out.length ? 1 : 0) > MAX_SEARCH_CHARS) break;
    chars += s.length + (out.length ? 1 : 0);
    out.push(s);
  }
  return out;
}

/** The pod's DNS configuration. */
export function podDnsConfig(pod: Pod, settings: ClusterDnsSettings): DnsConfig {
  const domain = (settings.domain ?? "cluster.local").replace(/\.$/, "");
  const host = parseResolvConf(settings.hostResolvConf ?? "");
  const ns = pod.metadata?.namespace ?? "default";
  let policy = pod.spec?.dnsPolicy ?? "ClusterFirst";
  if (policy === "ClusterFirst" && pod.spec?.hostNetwork) policy = "Default";
  if (policy === "ClusterFirstWithHostNet") policy = "ClusterFirst";
  // Without a cluster DNS server, ClusterFirst falls back to the node's resolver (as the kubelet).
  if (policy === "ClusterFirst" && settings.servers.length === 0) policy = "Default";
  let cfg: DnsConfig;
  switch (policy) {
    case "None":
      cfg = { servers: [], searches: [], options: [] };
      break;
    case "Default":
      cfg = { servers: [...host.servers], searches: [...host.searches], options: [...host.options] };
      break;
    default:
      cfg = {
        servers: [...settings.servers],
        searches: [`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...host.searches],
        options: ["ndots:5"],
      };
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    cfg.servers.push(...(extra.nameservers ?? []));
    cfg.searches.push(...(extra.searches ?? []));
    cfg.options = mergeOptions(
      cfg.options,
      (extra.options ?? []).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name ?? "")).filter(
        Boolean,
      ),
    );
  }
  return {
    servers: unique(cfg.servers).slice(0, MAX_NAMESERVERS),
    searches: limitSearches(unique(cfg.searches.map((s) => s.replace(/\.$/, "")))),
    options: cfg.options,
  };
}

/** The resolv.conf text of a configuration. */
export function resolvConf(cfg: DnsConfig): string {
  const lines: string[] = [];
  if (cfg.searches.length) lines.push(`search ${cfg.searches.join(" ")}`);
  for (const s of cfg.servers) lines.push(`nameserver ${s}`);
  if (cfg.options.length) lines.push(`options ${cfg.options.join(" ")}`);
  return lines.join("\n") + "\n";
}

/**
 * The names a resolver tries for `name`, in order (glibc's rules): a name ending in a dot is
 * absolute; a name with at least `ndots` dots is tried as is first, then with each search
 * domain; otherwise the search domains come first.
 */
export function candidateNames(name: string, cfg: Pick<DnsConfig, "searches" | "options">): string[] {
  if (name.endsWith(".")) return [name.slice(0, -1)];
  const ndotsOpt = cfg.options.find((o) => o.startsWith("ndots:"));
  const ndots = ndotsOpt ? Math.min(15, Number(ndotsOpt.slice(6)) || 0) : 1;
  const dots = name.split(".").length - 1;
  const searched = cfg.searches.map((s) => `${name}.${s}`);
  return dots >= ndots ? [name, ...searched] : [...searched, name];
}
