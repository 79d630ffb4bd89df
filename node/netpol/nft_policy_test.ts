import assert from "node:assert/strict";
import { allowRules, hostBaseScript, netnsBaseScript, policyState } from "./nft_policy.ts";
import { nftInstalled } from "../proxy/nft.ts";
import { planUpdate } from "../proxy/nft_rules.ts";
import type { PodPolicy } from "./policy.ts";

const pods: PodPolicy[] = [
  {
    ip: "198.18.0.10",
    namespace: "secure",
    name: "backend",
    ingress: [
      { ips: ["198.18.0.20", "198.18.0.21"], ports: [{ protocol: "TCP", port: 8080 }] },
      {
        cidr: { cidr: "198.18.1.0/24", except: ["198.18.1.7"] },
        ports: [{ protocol: "UDP", port: 53, endPort: 60 }],
      },
    ],
    egress: [{ ips: ["198.18.0.30"] }],
  },
  { ip: "198.18.0.11", namespace: "secure", name: "open" },
];

Deno.test("no base table accepts established connections ahead of the policy", () => {
  for (const line of [...hostBaseScript("skiff-netpol-x", "198.18.0.1"), ...netnsBaseScript()]) {
    assert.doesNotMatch(line, /established/, line);
  }
});

Deno.test("every packet is sent to the chains of its connection's client and server", () => {
  const base = hostBaseScript("skiff-netpol-x", "198.18.0.1");
  const forward = base.filter((l) => l.includes(" forward ") && l.startsWith("add rule"));
  assert.deepEqual(forward.slice(-2), [
    "add rule ip skiff-netpol-x forward ct original ip saddr vmap @egress-pods",
    "add rule ip skiff-netpol-x forward ct reply ip saddr vmap @ingress-pods",
  ]);
  // Packets without conntrack go to the chains of their own addresses, where nothing allows them.
  assert.ok(
    forward.includes(
      "add rule ip skiff-netpol-x forward ct state invalid,untracked ip daddr vmap @ingress-pods",
    ),
  );
  const input = base.filter((l) => l.includes(" input ") && l.startsWith("add rule"));
  assert.match(input[0], /ip daddr 198\.18\.0\.1 .* th dport 53 accept$/, "cluster DNS first");
  assert.equal(input.at(-1), "add rule ip skiff-netpol-x input ct original ip saddr vmap @egress-pods");
  const netns = netnsBaseScript().filter((l) => l.startsWith("add rule"));
  assert.equal(netns[0], 'add rule ip skiff-netpol output oifname != "lo" accept');
  assert.deepEqual(netns.slice(-2).map((l) => l.split(" output ")[1]), [
    "ct original ip saddr vmap @egress-pods",
    "ct reply ip saddr vmap @ingress-pods",
  ]);
});

Deno.test("allowRules() matches ingress peers as the client and egress peers as the server, on the server's port", () => {
  assert.deepEqual(allowRules(pods[0].ingress!, "ingress", "198.18.0.10"), [
    "ct original ip saddr 198.18.0.10 return",
    "ct original ip saddr { 198.18.0.20 , 198.18.0.21 } ct protocol tcp ct reply proto-src 8080 return",
    "ct original ip saddr 198.18.1.0/24 ct original ip saddr != 198.18.1.7 ct protocol udp ct reply proto-src 53-60 return",
    "drop",
  ]);
  assert.deepEqual(allowRules([{ ips: ["198.18.0.30"], ports: [{ protocol: "SCTP" }] }], "egress"), [
    "ct reply ip saddr 198.18.0.30 ct protocol sctp return",
    "drop",
  ]);
  assert.deepEqual(allowRules([], "egress", "198.18.0.10"), ["ct reply ip saddr 198.18.0.10 return", "drop"]);
});

Deno.test("policyState() gives isolated pods chains and leaves the others out of the maps", () => {
  const s = policyState(pods);
  assert.deepEqual([...s.elements.get("ingress-pods")!.keys()], ["198.18.0.10"]);
  assert.deepEqual([...s.elements.get("egress-pods")!.keys()], ["198.18.0.10"]);
  assert.equal(s.chains.size, 2);
  assert.equal(policyState(pods, new Set(["198.18.0.11"])).chains.size, 0);
});

Deno.test({
  name: "the kernel accepts the tables and a policy (nft --check in a throwaway network namespace)",
  ignore: Deno.uid() !== 0 || !nftInstalled(),
  async fn() {
    const check = async (lines: string[]) => {
      const child = new Deno.Command("unshare", {
        args: ["-n", "/usr/sbin/nft", "-c", "-f", "-"],
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
      await w.close();
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    };
    const next = policyState(pods);
    await check([
      ...hostBaseScript("skiff-netpol-x", "198.18.0.1"),
      ...planUpdate("skiff-netpol-x", policyState([]), next),
    ]);
    await check([...netnsBaseScript(), ...planUpdate("skiff-netpol", policyState([]), next)]);
  },
});
