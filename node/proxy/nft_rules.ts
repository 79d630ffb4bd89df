/**
 * The service proxy's nftables program, after kube-proxy's nftables mode, in one `ip` table per
 * node (`skiff-proxy-<bridge>`). Pure: {@linkcode baseScript} makes the table and its fixed
 * chains, {@linkcode desiredState} turns the model into per-service and per-endpoint chains,
 * sets and map elements, and {@linkcode planUpdate} diffs two states into one atomic `nft -f`
 * transaction that touches only what changed (no flush-and-rebuild).
 *
 * ```
 * nat-prerouting / nat-output ─▶ services: ip daddr . l4proto . dport vmap @service-ips
 *                                          fib daddr type local: l4proto . dport vmap @service-nodeports
 *                            ─▶ hostports: ip daddr . l4proto . dport vmap @host-ip-ports (hostIP set)
 *                                          fib daddr type local: l4proto . dport vmap @host-ports
 * hp-<h>-ns/name/proto/hostPort: hairpin (the pod itself) → mark; dnat to podIP:containerPort
 * svc-<h>-ns/name/tcp/port:   masquerade off-cluster sources; ClientIP affinity hits; numgen inc mod N vmap { i: goto ep }
 * ep-<h>-…__ip/port:          hairpin (source in the endpoint's netns) → mark; remember affinity; dnat to ip:port
 * nat-postrouting ─▶ masquerading: marked packets, and DNATed packets from 127.0.0.0/8 (node ports on localhost)
 * filter-{input,forward,output}: new connections to a port without endpoints are rejected, to an
 *   unknown port of a cluster IP rejected; martian localhost packets dropped; pods never forwarded
 *   out of the bridge (the guard)
 * ```
 * @module
 */
import type { Endpoint, ServicePort } from "./model.ts";
import type { HostPortMapping } from "./host_ports.ts";

export const MASQ_MARK = "0x4000";

/** The table's name for a node's bridge. */
export function tableName(bridge: string): string {
  return `skiff-proxy-${bridge}`;
}

/** A short stable hash (FNV-1a, base 36) for chain names. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36).padStart(7, "0");
}

/** The dynamic part of the table. */
export interface NftState {
  /** Chain → its rules (what follows `add rule ip T <chain> `). */
  chains: Map<string, string[]>;
  /** Set → its declaration body (`{ type ...; }`). */
  sets: Map<string, string>;
  /** Map or set → element key → verdict (`""` for set elements). */
  elements: Map<string, Map<string, string>>;
}

export function emptyState(): NftState {
  return { chains: new Map(), sets: new Map(), elements: new Map() };
}

export interface BaseOptions {
  table: string;
  bridge: string;
  /** The cluster's pod range (traffic from elsewhere to a cluster IP is masqueraded). */
  clusterCIDR: string;
}

const proto = (p: string) => p.toLowerCase();

/**
 * The script creating the table from nothing (a stale table of an earlier run is removed first,
 * in the same transaction).
 */
export function baseScript(o: BaseOptions): string[] {
  const t = `ip ${o.table}`;
  return [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t} { comment "skiff service proxy for bridge ${o.bridge}" ; }`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ${t} service-nodeports { type inet_proto . inet_service : verdict ; }`,
    `add map ${t} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ${t} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }`,
    `add set ${t} cluster-ips { type ipv4_addr ; }`,
    `add map ${t} host-ports { type inet_proto . inet_service : verdict ; }`,
    `add map ${t} host-ip-ports { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add chain ${t} mark-for-masquerade`,
    `add rule ${t} mark-for-masquerade meta mark set meta mark or ${MASQ_MARK}`,
    `add chain ${t} masquerading`,
    `add rule ${t} masquerading meta mark & ${MASQ_MARK} == 0 return`,
    `add rule ${t} masquerading meta mark set meta mark xor ${MASQ_MARK}`,
    `add rule ${t} masquerading masquerade fully-random`,
    `add chain ${t} reject-chain`,
    `add rule ${t} reject-chain reject`,
    `add chain ${t} services`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${t} services fib daddr type local meta l4proto . th dport vmap @service-nodeports`,
    // Pods' host ports (the CNI portmap plugin's job upstream), after the Services.
    `add chain ${t} hostports`,
    `add rule ${t} hostports ip daddr . meta l4proto . th dport vmap @host-ip-ports`,
    `add rule ${t} hostports fib daddr type local meta l4proto . th dport vmap @host-ports`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority dstnat ; policy accept ; }`,
    `add rule ${t} nat-prerouting jump services`,
    `add rule ${t} nat-prerouting jump hostports`,
    `add chain ${t} nat-output { type nat hook output priority -100 ; policy accept ; }`,
    `add rule ${t} nat-output jump services`,
    `add rule ${t} nat-output jump hostports`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority srcnat ; policy accept ; }`,
    `add rule ${t} nat-postrouting jump masquerading`,
    // Node ports reached on 127.0.0.1 leave through the bridge: give them a real source.
    `add rule ${t} nat-postrouting ip saddr 127.0.0.0/8 ct status dnat oifname "${o.bridge}" masquerade`,
    `add chain ${t} service-endpoints-check`,
    `add rule ${t} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add chain ${t} nodeport-endpoints-check`,
    `add rule ${t} nodeport-endpoints-check fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add chain ${t} cluster-ips-check`,
    `add rule ${t} cluster-ips-check ip daddr @cluster-ips goto reject-chain`,
    `add chain ${t} filter-input { type filter hook input priority -110 ; policy accept ; }`,
    `add rule ${t} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${t} filter-input ct state new jump service-endpoints-check`,
    // route_localnet is on for the bridge: refuse 127/8 packets that did not come from the node.
    `add rule ${t} filter-input iifname != "lo" ip daddr 127.0.0.0/8 ct state != { established, related } ct status & dnat == 0 drop`,
    `add chain ${t} filter-forward { type filter hook forward priority -110 ; policy accept ; }`,
    `add rule ${t} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${t} filter-forward ct state new jump cluster-ips-check`,
    `add chain ${t} filter-output { type filter hook output priority -110 ; policy accept ; }`,
    `add rule ${t} filter-output ct state new jump service-endpoints-check`,
    // In output, DNAT comes after the filter: unknown cluster-IP ports are refused after it.
    `add chain ${t} filter-output-post-dnat { type filter hook output priority -90 ; policy accept ; }`,
    `add rule ${t} filter-output-post-dnat ct state new jump cluster-ips-check`,
    // The guard: pods are forwarded only between pod bridges, never out through an uplink,
    // and nothing for the pod or service ranges leaves through anything but a bridge or veth.
    `add chain ${t} guard-forward { type filter hook forward priority 0 ; policy accept ; }`,
    `add rule ${t} guard-forward iifname "${o.bridge}" meta oifkind != "bridge" drop`,
    `add chain ${t} guard-postrouting { type filter hook postrouting priority 0 ; policy accept ; }`,
    `add rule ${t} guard-postrouting ip daddr { 198.18.0.0/16, 198.19.0.0/16 } meta oifkind != { "bridge", "veth" } oifname != "lo" drop`,
    // Pod traffic to a cluster IP from outside the pod range keeps working (masquerade mark).
    `add set ${t} cluster-cidr { type ipv4_addr ; flags interval ; elements = { ${o.clusterCIDR} } ; }`,
  ];
}

/** Chain names (kube-proxy's `service-<hash>-<ns>/<name>/<proto>/<port>` pattern). */
export function chainNames(sp: ServicePort) {
  const h = shortHash(sp.id);
  const readable = `${sp.namespace}/${sp.name}/${proto(sp.protocol)}/${sp.portName}`;
  return {
    service: `svc-${h}-${readable}`,
    local: `local-${h}-${readable}`,
    external: `ext-${h}-${readable}`,
    endpoint: (e: Endpoint) => `ep-${shortHash(`${sp.id}/${e.ip}/${e.port}`)}-${readable}__${e.ip}/${e.port}`,
    affinity: (e: Endpoint) => `aff-${shortHash(`${sp.id}/${e.ip}/${e.port}`)}-${sp.affinitySeconds ?? 0}`,
  };
}

/** The set holding a hairpin group's addresses. */
export function groupSet(group: string): string {
  return `peers-${shortHash(group)}`;
}

function setEl(state: NftState, name: string, key: string, value = "") {
  let m = state.elements.get(name);
  if (!m) state.elements.set(name, m = new Map());
  m.set(key, value);
}

/** The chain DNATing one host port. */
export function hostPortChain(m: HostPortMapping): string {
  const id = `${m.pod}/${m.protocol}/${m.hostIP ?? "*"}/${m.hostPort}`;
  return `hp-${shortHash(id)}-${m.pod}/${m.protocol}/${m.hostPort}`;
}

/** Adds the host ports' chains and map elements to `s`. */
function addHostPorts(s: NftState, mappings: HostPortMapping[]): void {
  s.elements.set("host-ports", new Map());
  s.elements.set("host-ip-ports", new Map());
  for (const m of mappings) {
    const chain = hostPortChain(m);
    s.chains.set(chain, [
      // A pod reaching its own host port: its reply must come back through the node.
      `ip saddr ${m.podIP} jump mark-for-masquerade`,
      `meta l4proto ${m.protocol} dnat to ${m.podIP}:${m.containerPort}`,
    ]);
    if (m.hostIP) setEl(s, "host-ip-ports", `${m.hostIP} . ${m.protocol} . ${m.hostPort}`, `goto ${chain}`);
    else setEl(s, "host-ports", `${m.protocol} . ${m.hostPort}`, `goto ${chain}`);
  }
}

/**
 * The dynamic state for `ports` and the pods' `hostPorts`; `groups` holds the address sets used
 * as hairpin peers.
 */
export function desiredState(
  ports: ServicePort[],
  groups: Map<string, string[]>,
  hostPorts: HostPortMapping[] = [],
): NftState {
  const s = emptyState();
  addHostPorts(s, hostPorts);
  // Sets always exist in the map so that emptied ones get their elements deleted.
  s.elements.set("service-ips", new Map());
  s.elements.set("service-nodeports", new Map());
  s.elements.set("no-endpoint-services", new Map());
  s.elements.set("no-endpoint-nodeports", new Map());
  s.elements.set("cluster-ips", new Map());
  const usedGroups = new Set<string>();
  for (const sp of ports) {
    const n = chainNames(sp);
    const p = proto(sp.protocol);
    setEl(s, "cluster-ips", sp.clusterIP);
    const epChains = new Map<string, Endpoint>();
    const dispatch = (chain: string, eps: Endpoint[], masqueradeOffCluster: boolean) => {
      const rules: string[] = [];
      if (masqueradeOffCluster) rules.push(`ip saddr != @cluster-cidr jump mark-for-masquerade`);
      if (sp.affinitySeconds) {
        for (const e of eps) rules.push(`ip saddr @${n.affinity(e)} goto ${n.endpoint(e)}`);
      }
      const targets = eps.map((e, i) => `${i} : goto ${n.endpoint(e)}`);
      rules.push(`numgen inc mod ${eps.length} vmap { ${targets.join(" , ")} }`);
      s.chains.set(chain, rules);
      for (const e of eps) epChains.set(n.endpoint(e), e);
    };
    const key = `${sp.clusterIP} . ${p} . ${sp.port}`;
    if (sp.clusterEndpoints.length) {
      const chain = sp.internalLocal ? n.local : n.service;
      dispatch(chain, sp.clusterEndpoints, true);
      setEl(s, "service-ips", key, `goto ${chain}`);
    } else {
      // No endpoint: reject; internalTrafficPolicy Local with endpoints elsewhere: drop.
      setEl(s, "no-endpoint-services", key, sp.internalLocal ? "drop" : "goto reject-chain");
    }
    if (sp.nodePort) {
      const npKey = `${p} . ${sp.nodePort}`;
      if (sp.nodePortEndpoints.length) {
        const target = sp.externalLocal ? n.local : n.service;
        if (!s.chains.has(target)) dispatch(target, sp.nodePortEndpoints, !sp.externalLocal);
        s.chains.set(n.external, [
          ...(sp.externalLocal ? [`ip saddr 127.0.0.0/8 jump mark-for-masquerade`] : [`jump mark-for-masquerade`]),
          `goto ${target}`,
        ]);
        setEl(s, "service-nodeports", npKey, `goto ${n.external}`);
      } else {
        setEl(s, "no-endpoint-nodeports", npKey, sp.externalLocal ? "drop" : "goto reject-chain");
      }
    }
    for (const [chain, e] of epChains) {
      const rules: string[] = [];
      if (e.peers && groups.has(e.peers)) {
        rules.push(`ip saddr @${groupSet(e.peers)} jump mark-for-masquerade`);
        usedGroups.add(e.peers);
      } else rules.push(`ip saddr ${e.ip} jump mark-for-masquerade`);
      if (sp.affinitySeconds) {
        const set = n.affinity(e);
        s.sets.set(set, `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`);
        rules.push(`update @${set} { ip saddr }`);
      }
      rules.push(`meta l4proto ${p} dnat to ${e.ip}:${e.port}`);
      s.chains.set(chain, rules);
    }
  }
  for (const g of usedGroups) {
    const set = groupSet(g);
    s.sets.set(set, `{ type ipv4_addr ; }`);
    const els = new Map<string, string>();
    for (const ip of groups.get(g) ?? []) els.set(ip, "");
    s.elements.set(set, els);
  }
  return s;
}

function sameRules(a: string[] | undefined, b: string[]): boolean {
  return !!a && a.length === b.length && a.every((r, i) => r === b[i]);
}

function element(key: string, value: string): string {
  return value ? `${key} : ${value}` : key;
}

/**
 * One transaction from `prev` to `next`: new sets and chains, changed chains rewritten (flush +
 * rules), map and set elements added, changed or deleted, then unused chains and sets removed.
 */
export function planUpdate(table: string, prev: NftState, next: NftState): string[] {
  const t = `ip ${table}`;
  const out: string[] = [];
  for (const [name, decl] of next.sets) if (prev.sets.get(name) !== decl) out.push(`add set ${t} ${name} ${decl}`);
  for (const name of next.chains.keys()) if (!prev.chains.has(name)) out.push(`add chain ${t} ${name}`);
  // Elements of plain sets (addresses) first: rules below may test them.
  const removals: string[] = [];
  const additions: string[] = [];
  const containers = new Set([...prev.elements.keys(), ...next.elements.keys()]);
  for (const name of containers) {
    const a = prev.elements.get(name) ?? new Map<string, string>();
    const b = next.elements.get(name) ?? new Map<string, string>();
    const del = [...a].filter(([k, v]) => !b.has(k) || b.get(k) !== v).map(([k]) => k);
    const add = [...b].filter(([k, v]) => a.get(k) !== v).map(([k, v]) => element(k, v));
    const dying = prev.sets.has(name) && !next.sets.has(name); // its elements go with it
    if (del.length && !dying) removals.push(`delete element ${t} ${name} { ${del.join(" , ")} }`);
    if (add.length) additions.push(`add element ${t} ${name} { ${add.join(" , ")} }`);
  }
  for (const [name, rules] of next.chains) {
    if (sameRules(prev.chains.get(name), rules)) continue;
    if (prev.chains.has(name)) out.push(`flush chain ${t} ${name}`);
    for (const r of rules) out.push(`add rule ${t} ${name} ${r}`);
  }
  out.push(...removals, ...additions);
  const dead = [...prev.chains.keys()].filter((c) => !next.chains.has(c));
  for (const c of dead) out.push(`flush chain ${t} ${c}`);
  for (const c of dead) out.push(`delete chain ${t} ${c}`);
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) out.push(`delete set ${t} ${name}`);
  return out;
}
