/**
 * NetworkPolicy as nftables, pure. One `ip` table per enforcement point:
 *
 * - in the host (`skiff-netpol-<bridge>`): the `forward` hook sees every packet between pods
 *   that crosses the node — bridged between pods, or routed through a Service (after DNAT, so
 *   the destination is the real pod) — and the `input` hook sees pods' packets to the node;
 * - in each Wasm sandbox network namespace (`skiff-netpol`): the `output` hook on `lo` sees the
 *   packets between pods of that namespace, which never leave it.
 *
 * Each isolated pod gets a chain (`ing-<hash>` for what it may receive, `egr-<hash>` for what it
 * may send) whose allow rules `return` and whose last rule drops; the maps `ingress-pods` and
 * `egress-pods` send a packet to the chains of its destination and source. Replies of allowed
 * connections pass (`ct state established,related`). The node itself is never filtered (host
 * traffic to pods passes the `output` hook, which is not hooked), and DNS to the cluster DNS on
 * the node always passes (it is not a pod a policy could name).
 * @module
 */
import { shortHash } from "../proxy/nft_rules.ts";
import { emptyState, type NftState } from "../proxy/nft_rules.ts";
import type { Allow, PodPolicy, PortMatch } from "./policy.ts";

export function hostTableName(bridge: string): string {
  return `skiff-netpol-${bridge}`;
}

export const NETNS_TABLE = "skiff-netpol";

/** The host table's base (replacing a stale one). */
export function hostBaseScript(table: string, dnsAddress: string): string[] {
  const t = `ip ${table}`;
  return [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t} { comment "skiff NetworkPolicy" ; }`,
    `add map ${t} ingress-pods { type ipv4_addr : verdict ; }`,
    `add map ${t} egress-pods { type ipv4_addr : verdict ; }`,
    `add chain ${t} forward { type filter hook forward priority 10 ; policy accept ; }`,
    `add rule ${t} forward ct state established,related accept`,
    `add rule ${t} forward ip saddr vmap @egress-pods`,
    `add rule ${t} forward ip daddr vmap @ingress-pods`,
    `add chain ${t} input { type filter hook input priority 10 ; policy accept ; }`,
    `add rule ${t} input ct state established,related accept`,
    `add rule ${t} input ip daddr ${dnsAddress} meta l4proto { tcp, udp } th dport 53 accept`,
    `add rule ${t} input ip saddr vmap @egress-pods`,
  ];
}

/** A sandbox namespace's table: only traffic between its own pods (on `lo`). */
export function netnsBaseScript(): string[] {
  const t = `ip ${NETNS_TABLE}`;
  return [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t} { comment "skiff NetworkPolicy between the pods of this namespace" ; }`,
    `add map ${t} ingress-pods { type ipv4_addr : verdict ; }`,
    `add map ${t} egress-pods { type ipv4_addr : verdict ; }`,
    `add chain ${t} output { type filter hook output priority 10 ; policy accept ; }`,
    `add rule ${t} output oifname != "lo" accept`,
    `add rule ${t} output ct state established,related accept`,
    `add rule ${t} output ip saddr vmap @egress-pods`,
    `add rule ${t} output ip daddr vmap @ingress-pods`,
  ];
}

function addrSet(ips: string[]): string {
  return ips.length === 1 ? ips[0] : `{ ${ips.join(" , ")} }`;
}

function portsRule(ports: PortMatch[]): string[] {
  const byProto = new Map<string, PortMatch[]>();
  for (const p of ports) byProto.set(p.protocol, [...(byProto.get(p.protocol) ?? []), p]);
  const out: string[] = [];
  for (const [proto, list] of byProto) {
    const l4 = `meta l4proto ${proto.toLowerCase()}`;
    if (list.some((p) => p.port === undefined)) {
      out.push(l4);
      continue;
    }
    const items = [...new Set(list.map((p) => (p.endPort && p.endPort > p.port! ? `${p.port}-${p.endPort}` : String(p.port))))];
    out.push(`${l4} th dport ${items.length === 1 ? items[0] : `{ ${items.join(" , ")} }`}`);
  }
  return out;
}

/** The rules of one chain: each allow becomes `return` lines, then `drop`. */
export function allowRules(allows: Allow[], dir: "saddr" | "daddr", self?: string): string[] {
  const rules: string[] = [];
  if (self) rules.push(`ip ${dir} ${self} return`);
  for (const a of allows) {
    let match = "";
    if (a.ips) {
      if (!a.ips.length) continue;
      match = `ip ${dir} ${addrSet(a.ips)} `;
    } else if (a.cidr) {
      match = `ip ${dir} ${a.cidr.cidr} ` + (a.cidr.except.length ? `ip ${dir} != ${addrSet(a.cidr.except)} ` : "");
    }
    if (!a.ports) rules.push(`${match}return`);
    else for (const p of portsRule(a.ports)) rules.push(`${match}${p} return`);
  }
  rules.push("drop");
  return rules;
}

/** The dynamic state for `pods` (only those in `only`, when given). */
export function policyState(pods: PodPolicy[], only?: Set<string>): NftState {
  const s = emptyState();
  const ing = new Map<string, string>();
  const egr = new Map<string, string>();
  s.elements.set("ingress-pods", ing);
  s.elements.set("egress-pods", egr);
  for (const p of pods) {
    if (only && !only.has(p.ip)) continue;
    const h = shortHash(p.ip);
    if (p.ingress) {
      const chain = `ing-${h}-${p.namespace}/${p.name}`;
      s.chains.set(chain, allowRules(p.ingress, "saddr", p.ip));
      ing.set(p.ip, `jump ${chain}`);
    }
    if (p.egress) {
      const chain = `egr-${h}-${p.namespace}/${p.name}`;
      s.chains.set(chain, allowRules(p.egress, "daddr", p.ip));
      egr.set(p.ip, `jump ${chain}`);
    }
  }
  return s;
}
