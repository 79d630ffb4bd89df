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
 * `egress-pods` send a packet to the chains of its connection's server and client.
 *
 * **Every packet of a connection follows the policies as they are now**, its first and its
 * replies alike: the rules match the connection's conntrack tuple, not the packet's addresses —
 * the client is `ct original ip saddr`, the server `ct reply ip saddr` and its port
 * `ct reply proto-src` (after Service DNAT, so the real pod and port), the protocol
 * `ct protocol`. A reply is thus allowed exactly while its connection is, and a connection a
 * policy stops allowing stops at its next packet, in both directions (no `ct state established`
 * accept ahead of the policy, no conntrack flush needed); it carries on if a later change allows
 * it again before either end gives up. Packets without a conntrack entry (`invalid`,
 * `untracked`) to or from an isolated pod are dropped. The node itself is never filtered (host
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

/** A connection's client (who sent its first packet), server (after DNAT) and server port. */
const CLIENT = "ct original ip saddr";
const SERVER = "ct reply ip saddr";
const SERVER_PORT = "ct reply proto-src";

/**
 * Sends every packet to the chains of its connection's client (egress) and server (ingress);
 * packets without conntrack to those of their own addresses (where no allow rule matches them).
 */
function dispatch(t: string, chain: string): string[] {
  return [
    `add rule ${t} ${chain} ct state invalid,untracked ip saddr vmap @egress-pods`,
    `add rule ${t} ${chain} ct state invalid,untracked ip daddr vmap @ingress-pods`,
    `add rule ${t} ${chain} ${CLIENT} vmap @egress-pods`,
    `add rule ${t} ${chain} ${SERVER} vmap @ingress-pods`,
  ];
}

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
    ...dispatch(t, "forward"),
    `add chain ${t} input { type filter hook input priority 10 ; policy accept ; }`,
    `add rule ${t} input ip daddr ${dnsAddress} meta l4proto { tcp, udp } th dport 53 accept`,
    `add rule ${t} input ct state invalid,untracked ip saddr vmap @egress-pods`,
    `add rule ${t} input ${CLIENT} vmap @egress-pods`,
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
    ...dispatch(t, "output"),
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
    const l4 = `ct protocol ${proto.toLowerCase()}`;
    if (list.some((p) => p.port === undefined)) {
      out.push(l4);
      continue;
    }
    const items = [...new Set(list.map((p) => (p.endPort && p.endPort > p.port! ? `${p.port}-${p.endPort}` : String(p.port))))];
    out.push(`${l4} ${SERVER_PORT} ${items.length === 1 ? items[0] : `{ ${items.join(" , ")} }`}`);
  }
  return out;
}

/**
 * The rules of one chain: each allow becomes `return` lines, then `drop`. The peer is the
 * connection's client for `ingress`, its server for `egress`; a pod reaching itself always passes.
 */
export function allowRules(allows: Allow[], direction: "ingress" | "egress", self?: string): string[] {
  const rules: string[] = [];
  const peer = direction === "ingress" ? CLIENT : SERVER;
  if (self) rules.push(`${peer} ${self} return`);
  for (const a of allows) {
    let match = "";
    if (a.ips) {
      if (!a.ips.length) continue;
      match = `${peer} ${addrSet(a.ips)} `;
    } else if (a.cidr) {
      match = `${peer} ${a.cidr.cidr} ` + (a.cidr.except.length ? `${peer} != ${addrSet(a.cidr.except)} ` : "");
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
      s.chains.set(chain, allowRules(p.ingress, "ingress", p.ip));
      ing.set(p.ip, `jump ${chain}`);
    }
    if (p.egress) {
      const chain = `egr-${h}-${p.namespace}/${p.name}`;
      s.chains.set(chain, allowRules(p.egress, "egress", p.ip));
      egr.set(p.ip, `jump ${chain}`);
    }
  }
  return s;
}
