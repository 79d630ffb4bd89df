import assert from "node:assert/strict";
import { deleteRulesPlan, listedRules, NftRuleRefused, planNftRule } from "./nft_rule.ts";

const bounds = { table: "skiff", cidrs: ["198.18.4.0/24", "198.19.0.0/16"] };
const refused = (reason: "denied" | "invalid", re: RegExp) => (e: unknown) =>
  e instanceof NftRuleRefused && e.reason === reason && re.test(e.message);

Deno.test("planNftRule() plans the table, the base chain and the tagged rule", () => {
  const p = planNftRule(
    bounds,
    "sb1",
    "input",
    "ip saddr 198.18.4.0/24 tcp dport { 80, 443 } counter accept",
  );
  assert.match(p.comment, /^skiff:sb1:[0-9a-f]{12}$/);
  assert.deepEqual(p.lines, [
    "add table ip skiff",
    "add chain ip skiff input { type filter hook input priority filter; policy accept; }",
    `add rule ip skiff input ip saddr 198.18.4.0/24 tcp dport { 80 , 443 } counter accept comment "${p.comment}"`,
  ]);
});

Deno.test("planNftRule() makes regular chains and the chains rules jump to", () => {
  const p = planNftRule(bounds, "sb1", "output", "ip daddr 198.19.0.10 jump svc");
  assert.deepEqual(p.lines.slice(0, 3), [
    "add table ip skiff",
    "add chain ip skiff svc",
    "add chain ip skiff output { type filter hook output priority filter; policy accept; }",
  ]);
  const nat = planNftRule(bounds, "sb1", "prerouting", "tcp dport 8080 dnat to 198.18.4.7:80");
  assert.match(nat.lines[1], /type nat hook prerouting priority dstnat/);
  assert.ok(planNftRule(bounds, "sb1", "svc", "ct state { established, related } accept"));
  assert.ok(planNftRule(bounds, "sb1", "input", "iifname != { eth0, lo } limit rate over 10/second drop"));
});

Deno.test("planNftRule() gives the same comment to the same rule, another to another chain", () => {
  const a = planNftRule(bounds, "sb1", "input", "tcp dport 22 drop");
  assert.equal(planNftRule(bounds, "sb1", "input", "  tcp  dport 22   drop").comment, a.comment);
  assert.notEqual(planNftRule(bounds, "sb1", "forward", "tcp dport 22 drop").comment, a.comment);
});

Deno.test("planNftRule() refuses addresses outside the granted CIDRs, also inside sets, ranges and NAT", () => {
  for (
    const rule of [
      "ip daddr 192.0.2.1 drop",
      "ip saddr { 198.18.4.1, 203.0.113.9 } accept",
      "ip daddr 198.18.4.250-198.18.5.3 accept",
      "ip daddr 198.18.0.0/16 accept",
      "tcp dport 80 dnat to 127.0.0.1:80",
    ]
  ) {
    assert.throws(
      () => planNftRule(bounds, "sb1", "prerouting", rule),
      refused("denied", /outside the granted CIDRs/),
      rule,
    );
  }
  assert.throws(
    () => planNftRule(bounds, "sb1", "input", "ip daddr 3232235777 drop"),
    refused("denied", /not an address here/),
  );
});

Deno.test("planNftRule() refuses words outside the vocabulary and a second command", () => {
  for (
    const [rule, re] of [
      ["tcp dport 80 queue", /"queue" is not allowed/],
      ["ip daddr 198.18.4.2 dup to 198.18.4.3", /"dup" is not allowed/],
      ["ip6 daddr ::1 drop", /not/],
      ["tcp dport 80 log", /"log" is not allowed/],
      ["accept; delete table ip skiff-netpol", /one rule/],
      ["accept\nflush ruleset", /one rule/],
      ['accept comment "x"', /one rule/],
      ["meta mark @m accept", /one rule/],
      ["flush ruleset", /"flush" is not allowed/],
    ] as const
  ) {
    assert.throws(
      () => planNftRule(bounds, "sb1", "input", rule),
      (e) => e instanceof NftRuleRefused && re.test(e.message),
      rule,
    );
  }
});

Deno.test("planNftRule() refuses jumps to base chains, bad chains and tables the node owns", () => {
  assert.throws(
    () => planNftRule(bounds, "sb1", "input", "jump output"),
    refused("denied", /regular chain name/),
  );
  assert.throws(() => planNftRule(bounds, "sb1", "svc", "jump svc"), refused("denied", /itself/));
  assert.throws(() => planNftRule(bounds, "sb1", "Input;", "accept"), refused("invalid", /not a chain name/));
  assert.throws(
    () => planNftRule(bounds, "sb1", "input", "jump"),
    refused("invalid", /ends where chain was expected/),
  );
  assert.throws(
    () => planNftRule({ ...bounds, table: "skiff-netpol" }, "sb1", "input", "accept"),
    refused("denied", /node's/),
  );
  assert.throws(() => planNftRule(bounds, "a b", "input", "accept"), refused("invalid", /not a sandbox id/));
});

Deno.test("deleteRulesPlan() deletes only the sandbox's rules, by handle", () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: {} },
      { table: { family: "ip", name: "skiff" } },
      { rule: { family: "ip", table: "skiff", chain: "input", handle: 4, comment: "skiff:sb1:abc" } },
      { rule: { family: "ip", table: "skiff", chain: "input", handle: 5, comment: "skiff:sb10:abc" } },
      { rule: { family: "ip", table: "skiff-netpol", chain: "ingress", handle: 6 } },
    ],
  });
  assert.deepEqual(deleteRulesPlan(listedRules(json), "skiff:sb1:"), ["delete rule ip skiff input handle 4"]);
});
