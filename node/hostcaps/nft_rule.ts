/**
 * The bounds of `host-net.add-nft-rule`, pure: a plugin's rule is checked token by token against
 * a closed vocabulary, then planned as one atomic `nft -f` script that only touches the granted
 * table (`ip` family) of the sandbox's netns. What a rule may be:
 *
 * - **chain**: a base chain named after its hook (`prerouting` and `postrouting` are `nat`
 *   chains, `input`, `forward`, `output` `filter` chains; all with policy accept) or a regular
 *   chain (`[a-z][a-z0-9_-]{0,30}`), made on demand. `jump`/`goto` targets must be regular chain
 *   names, so they are chains of the same table (nftables cannot jump across tables anyway).
 * - **characters**: `[A-Za-z0-9 _.:/,{}!=<>&|^*-]` only, at most 512: no `;` or newline (a
 *   second command), no quotes, `#`, `$` or `@` (strings, comments, variables, named sets and raw
 *   payloads are refused).
 * - **words**: the matches and statements of {@linkcode NFT_VOCABULARY} (address, port,
 *   protocol, interface, conntrack state, mark, counter, limit, verdicts, reject, dnat / snat /
 *   masquerade / redirect), numbers, rates (`10/second`), interface names right after
 *   `iifname`/`oifname`. Anything else (`queue`, `dup`, `fwd`, `log`, `comment`, `ip6`, ...) is
 *   refused.
 * - **addresses**: every IPv4 literal (address, prefix, range, `address:port`) must lie inside
 *   the granted CIDRs (default the node's pod CIDR and the service CIDR), and `saddr`, `daddr`
 *   and `dnat to` / `snat to` take only such literals (no integers standing for addresses).
 *
 * Every rule carries the comment `skiff:<sandbox id>:<hash>`: the node finds and deletes a
 * sandbox's rules by it, and a rule already there (same chain and text) is not added twice.
 * @module
 */
import { createHash } from "node:crypto";

/** What a `host-net` grant allows `add-nft-rule` to touch. */
export interface NftBounds {
  /** The table (family `ip`) rules go into. */
  table: string;
  /** Every address a rule names must lie inside one of these. */
  cidrs: readonly string[];
}

/** The base chains: name → the spec `add chain` gives them. */
export const BASE_CHAINS: Record<string, string> = {
  prerouting: "type nat hook prerouting priority dstnat; policy accept;",
  input: "type filter hook input priority filter; policy accept;",
  forward: "type filter hook forward priority filter; policy accept;",
  output: "type filter hook output priority filter; policy accept;",
  postrouting: "type nat hook postrouting priority srcnat; policy accept;",
};

/** The words a rule may use besides numbers, addresses, rates and interface names. */
export const NFT_VOCABULARY: ReadonlySet<string> = new Set([
  // matches
  "ip",
  "saddr",
  "daddr",
  "protocol",
  "length",
  "ttl",
  "dscp",
  "tcp",
  "udp",
  "sctp",
  "icmp",
  "th",
  "sport",
  "dport",
  "flags",
  "type",
  "code",
  "meta",
  "l4proto",
  "iifname",
  "oifname",
  "mark",
  "pkttype",
  "ct",
  "state",
  "new",
  "established",
  "related",
  "invalid",
  "untracked",
  "host",
  "unicast",
  "broadcast",
  "multicast",
  "other",
  "syn",
  "ack",
  "fin",
  "rst",
  "psh",
  "urg",
  "echo-request",
  "echo-reply",
  "destination-unreachable",
  "time-exceeded",
  // operators
  "==",
  "!=",
  "<",
  ">",
  "<=",
  ">=",
  "eq",
  "ne",
  "lt",
  "gt",
  "le",
  "ge",
  "and",
  "or",
  "xor",
  "&",
  "|",
  "^",
  "!",
  "{",
  "}",
  ",",
  // statements
  "counter",
  "accept",
  "drop",
  "reject",
  "with",
  "icmpx",
  "port-unreachable",
  "host-unreachable",
  "admin-prohibited",
  "no-route",
  "reset",
  "jump",
  "goto",
  "return",
  "continue",
  "limit",
  "rate",
  "over",
  "second",
  "minute",
  "hour",
  "day",
  "packets",
  "bytes",
  "kbytes",
  "mbytes",
  "burst",
  "dnat",
  "snat",
  "masquerade",
  "redirect",
  "to",
  "set",
  "random",
  "persistent",
  "fully-random",
]);

const SAFE = /^[A-Za-z0-9 _.:/,{}!=<>&|^*-]{1,512}$/;
const CHAIN = /^[a-z][a-z0-9_-]{0,30}$/;
const TABLE = /^[a-z][a-z0-9_-]{0,31}$/;
const TAG = /^[A-Za-z0-9_.-]{1,100}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}\*?$/;
const NUMBER = /^(\d{1,10}|0x[0-9a-f]{1,8})(-(\d{1,10}|0x[0-9a-f]{1,8}))?$/i;
const RATE = /^\d{1,10}\/(second|minute|hour|day)$/;
const PORT = /^:\d{1,5}(-\d{1,5})?$/;
const IPV4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2})|-(\d{1,3}(?:\.\d{1,3}){3})|:(\d{1,5}(?:-\d{1,5})?))?$/;

/** A rule outside the bounds (`denied`) or malformed (`invalid`). */
export class NftRuleRefused extends Error {
  override name = "NftRuleRefused";
  constructor(readonly reason: "denied" | "invalid", message: string) {
    super(message);
  }
}

/** The comment prefix of a sandbox's rules. */
export function sandboxTag(sandbox: string): string {
  if (!TAG.test(sandbox)) {
    throw new NftRuleRefused("invalid", `${JSON.stringify(sandbox)} is not a sandbox id`);
  }
  return `skiff:${sandbox}:`;
}

function ipv4(s: string): number | null {
  const p = s.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return null;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** The first and last address of a literal (`a.b.c.d`, `/len`, `-a.b.c.d`, `:port`); null if malformed. */
function span(token: string): [number, number] | null {
  const m = IPV4.exec(token);
  if (!m) return null;
  const lo = ipv4(m[1]);
  if (lo === null) return null;
  if (m[2] !== undefined) {
    const len = Number(m[2]);
    if (len > 32) return null;
    const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
    const base = (lo & mask) >>> 0;
    return [base, (base | (~mask >>> 0)) >>> 0];
  }
  if (m[3] !== undefined) {
    const hi = ipv4(m[3]);
    return hi === null || hi < lo ? null : [lo, hi];
  }
  return [lo, lo];
}

/** Whether `[lo, hi]` lies inside one of `cidrs`. Pure. */
function insideOne(cidrs: readonly string[], [lo, hi]: [number, number]): boolean {
  return cidrs.some((c) => {
    const r = span(c);
    return r !== null && lo >= r[0] && hi <= r[1];
  });
}

/** The rule's words (braces and commas are words of their own). */
function tokens(rule: string): string[] {
  return rule.replace(/([{},])/g, " $1 ").trim().split(/\s+/);
}

/** The checked plan of one rule: the `nft -f` lines and the rule's comment. */
export interface NftRulePlan {
  /** The comment the rule carries (`skiff:<sandbox>:<hash>`). */
  comment: string;
  chain: string;
  /** The script: table, chains (idempotent `add`s), then the rule. */
  lines: string[];
}

/**
 * Checks one rule against the bounds and plans it for a sandbox; throws
 * {@linkcode NftRuleRefused}. Pure.
 */
export function planNftRule(bounds: NftBounds, sandbox: string, chain: unknown, rule: unknown): NftRulePlan {
  const refuse = (m: string): never => {
    throw new NftRuleRefused("denied", m);
  };
  if (!TABLE.test(bounds.table) || bounds.table.startsWith("skiff-")) {
    refuse(
      `the granted table ${
        JSON.stringify(bounds.table)
      } is not a table plugins may use (skiff-* is the node's)`,
    );
  }
  if (typeof chain !== "string" || !CHAIN.test(chain)) {
    throw new NftRuleRefused(
      "invalid",
      `${JSON.stringify(chain)} is not a chain name ([a-z][a-z0-9_-]{0,30})`,
    );
  }
  if (typeof rule !== "string" || !SAFE.test(rule.trim())) {
    throw new NftRuleRefused(
      "invalid",
      `the rule must be 1-512 of [A-Za-z0-9 _.:/,{}!=<>&|^*-] (one rule: no ; newline quotes # $ @)`,
    );
  }
  const words = tokens(rule);
  const targets = new Set<string>();
  let expect: "" | "address" | "ifname" | "chain" | "port" = "";
  let inSet = false;
  let nat = "";
  for (const w of words) {
    const addr = span(w);
    if (addr && !insideOne(bounds.cidrs, addr)) {
      refuse(`the rule names ${w}, which is outside the granted CIDRs ${bounds.cidrs.join(", ")}`);
    }
    if (expect) {
      if (w === "{" && !inSet && expect !== "chain") {
        inSet = true;
        continue;
      }
      if (inSet && w === ",") continue;
      if (inSet && w === "}") {
        inSet = false;
        expect = "";
        continue;
      }
      if ((w === "!=" || w === "==") && !inSet && (expect === "address" || expect === "ifname")) continue;
      const ok = expect === "address"
        ? addr !== null
        : expect === "ifname"
        ? IFNAME.test(w)
        : expect === "port"
        ? PORT.test(w)
        : CHAIN.test(w) && !(w in BASE_CHAINS);
      if (!ok) {
        refuse(
          `${JSON.stringify(w)} is not ${expect === "chain" ? "a regular chain name" : `an ${expect}`} here`,
        );
      }
      if (expect === "chain") targets.add(w);
      if (!inSet) expect = "";
      continue;
    }
    if (w === "saddr" || w === "daddr") expect = "address";
    else if (w === "iifname" || w === "oifname") expect = "ifname";
    else if (w === "jump" || w === "goto") expect = "chain";
    else if (w === "dnat" || w === "snat" || w === "redirect") nat = w;
    else if (w === "to" && nat) expect = nat === "redirect" ? "port" : "address";
    if (NFT_VOCABULARY.has(w) || addr || NUMBER.test(w) || RATE.test(w)) continue;
    refuse(`${JSON.stringify(w)} is not allowed in a plugin's rule (see docs/plugins.md, add-nft-rule)`);
  }
  if (expect || inSet) {
    throw new NftRuleRefused("invalid", `the rule ends where ${expect || "a set"} was expected`);
  }
  if (targets.has(chain)) refuse(`chain ${chain} may not jump to itself`);
  const text = words.join(" ");
  const hash = createHash("sha256").update(`${chain}\n${text}`).digest("hex").slice(0, 12);
  const comment = `${sandboxTag(sandbox)}${hash}`;
  const t = `ip ${bounds.table}`;
  const spec = BASE_CHAINS[chain];
  return {
    comment,
    chain,
    lines: [
      `add table ${t}`,
      ...[...targets].sort().map((c) => `add chain ${t} ${c}`),
      spec ? `add chain ${t} ${chain} { ${spec} }` : `add chain ${t} ${chain}`,
      `add rule ${t} ${chain} ${text} comment "${comment}"`,
    ],
  };
}

/** A rule as `nft -j list` shows it (the parts the node reads). */
export interface ListedRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
}

/** The rules of `nft -j list ...` output. Pure. */
export function listedRules(json: string): ListedRule[] {
  const out = (JSON.parse(json || "{}")?.nftables ?? []) as { rule?: ListedRule }[];
  return out.flatMap((e) => e.rule ? [e.rule] : []);
}

/** The `nft -f` lines deleting the rules whose comment starts with `prefix`. Pure. */
export function deleteRulesPlan(rules: readonly ListedRule[], prefix: string): string[] {
  return rules.filter((r) => r.comment?.startsWith(prefix) && TABLE.test(r.table) && CHAIN.test(r.chain))
    .map((r) => `delete rule ${r.family} ${r.table} ${r.chain} handle ${Number(r.handle)}`);
}
