/**
 * `skiff:host/host-net.add-nft-rule` through a real component (tests/fixtures/plugin_nft) run
 * as nodes run network plugins: its rules land in table `ip skiff` of the sandbox's netns,
 * tagged with the sandbox's id, a repeated ADD adds nothing twice, an out-of-bounds rule fails
 * the ADD with `denied` (and leaves nothing), and the sandbox's DEL deletes its rules and only
 * its rules (two sandboxes sharing a netns, as a Wasm sandbox group does).
 */
import assert from "node:assert/strict";
import { BUILTIN_PLUGINS, builtinPluginObject } from "../control/api/builtin_plugins.ts";
import type { PluginObject } from "../control/api/plugins.ts";
import { createNetns, deleteNetns } from "../node/cni/netns.ts";
import { PluginNetwork } from "../node/cni/plugin_network.ts";
import { hostNet } from "../node/hostcaps/host_net.ts";
import { listedRules } from "../node/hostcaps/nft_rule.ts";
import { NodePlugins } from "../node/plugins.ts";
import { nft } from "../node/proxy/nft.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { ROOT, testWith } from "./harness.ts";
import { NODE } from "./fixtures/build.ts";
import { NFTABLES, NODE_PRIVILEGES } from "./network_harness.ts";

const SUBNET = "198.18.243.0/24";
const IMAGE = "nft-test:fixture";

/** The comments of the rules in table `ip skiff` of a netns (none when the table is missing). */
async function comments(ns: string): Promise<string[]> {
  try {
    return listedRules(await nft(["-j", "list", "table", "ip", "skiff"], { ns })).map((r) => r.comment ?? "");
  } catch {
    return [];
  }
}

testWith(
  [NODE_PRIVILEGES, NFTABLES, NODE],
  "add-nft-rule adds bounded, tagged rules in the sandbox's netns; DEL deletes the sandbox's rules",
  async (t) => {
    const tag = `sknft${Deno.pid % 10000}`;
    const dir = await Deno.makeTempDir({ prefix: "skiff-nft-" });
    const { bytes } = await buildPlugin({
      kind: "network",
      source: `${ROOT}/tests/fixtures/plugin_nft/plugin.ts`,
    });
    const fixture: PluginObject = {
      metadata: { name: "nft-test", generation: 1 },
      spec: {
        kind: "network",
        image: IMAGE,
        grants: [{ capability: "host-net" }, { capability: "log" }],
        timeoutSeconds: 10,
      },
    };
    const ipam = builtinPluginObject(BUILTIN_PLUGINS.find((b) => b.name === "host-local")!);
    ipam.metadata.generation = 1;
    const plugins = new NodePlugins({
      plugins: [fixture, ipam],
      nodeName: "nft",
      dataDir: `${dir}/plugins`,
      labels: () => ({}),
      pull: (image) => {
        if (image !== IMAGE) throw new Error(`no image ${image} here`);
        return Promise.resolve({ digest: "", bytes });
      },
      capabilities: { "host-net": (grant) => hostNet(grant, { bridge: `${tag}b`, podCIDR: SUBNET }) },
      log: () => {},
    });
    const network = new PluginNetwork({
      bridge: `${tag}b`,
      podCIDR: SUBNET,
      dir: `${dir}/attachments`,
      plugins,
    });
    const ns = `${tag}-shared`;
    try {
      await plugins.start();
      assert.deepEqual(await plugins.waitLoaded(["network", "ipam"], 60_000), []);
      await network.setUp();
      const netns = await createNetns(ns);
      const req = (id: string, ...rules: string[]) => ({
        containerId: id,
        netns,
        ifName: "eth0",
        args: Object.fromEntries(rules.map((r, i) => [`SKIFF_NFT_RULE_${i}`, r])),
      });
      const a = req(
        "sandbox-a",
        `input ip saddr ${SUBNET} tcp dport { 80, 8080 } counter accept`,
        "output ip daddr 198.19.0.10 udp dport 53 jump dns",
        "dns counter accept",
      );
      const b = req("sandbox-b", "input tcp dport 22 drop");

      await t.step("ADD adds each rule once, tagged with the sandbox's id, in its netns only", async () => {
        await network.add(a);
        await network.add(b);
        const have = await comments(ns);
        assert.equal(have.filter((c) => c.startsWith("skiff:sandbox-a:")).length, 3, have.join(", "));
        assert.equal(have.filter((c) => c.startsWith("skiff:sandbox-b:")).length, 1, have.join(", "));
        const chains = await nft(["list", "table", "ip", "skiff"], { ns });
        assert.match(chains, /chain input \{\s+type filter hook input priority filter; policy accept;/);
        assert.match(chains, /tcp dport \{ 80, 8080 \} counter packets 0 bytes 0 accept/);
        assert.doesNotMatch(await nft(["list", "tables"]), /table ip skiff\n/, "nothing on the host");
        // The plugin's ADD again (a retry) adds nothing twice.
        await plugins.call("nft-test", "add", [toAttachment(a)], { containerId: "sandbox-a", netns });
        assert.equal((await comments(ns)).length, 4);
      });

      await t.step("a rule outside the bounds fails the ADD with denied and leaves nothing", async () => {
        for (
          const [rule, why] of [
            [
              "input ip saddr 192.0.2.1 drop",
              /denied.*192\.0\.2\.1, which is outside the granted CIDRs 198\.18\.243\.0\/24, 198\.19\.0\.0\/16/,
            ],
            ["input tcp dport 80 queue", /denied.*"queue" is not allowed/],
            ["input accept; flush ruleset", /one rule/],
          ] as const
        ) {
          await assert.rejects(() => network.add(req("sandbox-c", "input tcp dport 443 accept", rule)), why);
        }
        assert.deepEqual((await comments(ns)).filter((c) => c.startsWith("skiff:sandbox-c:")), []);
        assert.equal(await network.find("sandbox-c"), undefined);
      });

      await t.step("DEL deletes the sandbox's rules and keeps the other sandbox's", async () => {
        await network.del(a);
        assert.deepEqual((await comments(ns)).map((c) => c.split(":")[1]), ["sandbox-b"]);
        await network.del(b);
        assert.deepEqual(await comments(ns), []);
      });
    } finally {
      await plugins.stop();
      await deleteNetns(ns);
      await network.tearDown();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

function toAttachment(
  r: { containerId: string; netns: string; ifName: string; args: Record<string, string> },
) {
  return {
    containerId: r.containerId,
    netns: r.netns,
    ifname: r.ifName,
    args: Object.entries(r.args),
    config: JSON.stringify({
      cniVersion: "1.1.0",
      name: "skiff",
      type: "nft-test",
      ipam: { type: "host-local", ranges: [[{ subnet: SUBNET }]] },
    }),
  };
}
