import assert from "node:assert/strict";
import { ipAvailable, ipJson } from "../cni/ip.ts";
import { ipv4Addresses, promoteSecondaries, withSandboxNet } from "./net_testing.ts";
import { planVethWiring, type VethWiring, WiringRefused } from "./veth_wiring.ts";

const bounds = { bridge: "skiff0", grantedBridge: "skiff0", cidrs: ["198.18.4.0/24"] };
const opts = { mac: "02:00:00:00:00:01" };
const wiring = (o: Partial<VethWiring> = {}): VethWiring => ({
  hostIfname: "sk00000001",
  podIfname: "eth0",
  mtu: 1400,
  addresses: ["198.18.4.7/24"],
  routes: [{ destination: "0.0.0.0/0", gateway: "198.18.4.1" }],
  ...o,
});
const refused = (reason: string, re: RegExp) => (e: unknown) =>
  e instanceof WiringRefused && e.reason === reason && re.test(e.message);

Deno.test("planVethWiring() plans the pair, the addresses and the routes as checked data", () => {
  assert.deepEqual(planVethWiring(bounds, "cni-1", wiring(), opts), {
    netns: "cni-1",
    bridge: "skiff0",
    hostIfname: "sk00000001",
    podIfname: "eth0",
    mtu: 1400,
    mac: "02:00:00:00:00:01",
    addresses: [{ address: "198.18.4.7", prefixLength: 24 }],
    routes: [{ address: "0.0.0.0", prefixLength: 0, gateway: "198.18.4.1" }],
  });
  const link = planVethWiring(
    bounds,
    "cni-1",
    wiring({ routes: [{ destination: "198.18.4.0/24" }], mtu: 0 }),
    opts,
  );
  assert.deepEqual(link.routes, [{ address: "198.18.4.0", prefixLength: 24 }]);
  assert.equal(link.mtu, 0);
  assert.equal(planVethWiring(bounds, "cni-1", wiring({ mtu: 70000 }), opts).mtu, 65535);
});

Deno.test("planVethWiring() keeps the bounds of the one-step verbs", () => {
  assert.throws(
    () => planVethWiring(bounds, "cni-1", wiring({ addresses: ["198.18.5.7/24"] }), opts),
    refused("denied", /address 198.18.5.7\/24 is outside/),
  );
  assert.throws(
    () =>
      planVethWiring(
        bounds,
        "cni-1",
        wiring({ routes: [{ destination: "0.0.0.0/0", gateway: "192.0.2.1" }] }),
        opts,
      ),
    refused("denied", /gateway 192.0.2.1 is outside/),
  );
  assert.throws(
    () => planVethWiring(bounds, "cni-1", wiring({ routes: [{ destination: "0.0.0.0/0" }] }), opts),
    refused("denied", /link route 0.0.0.0\/0 is outside/),
  );
  assert.throws(
    () => planVethWiring({ ...bounds, grantedBridge: "br9" }, "cni-1", wiring(), opts),
    refused("denied", /not this node's bridge/),
  );
  assert.throws(
    () => planVethWiring(bounds, "cni-1", wiring({ podIfname: "eth0; reboot" }), opts),
    refused("invalid", /not an interface name/),
  );
  assert.throws(
    () => planVethWiring(bounds, "cni-1", wiring({ addresses: ["198.18.4.7/24\nlink del skiff0"] }), opts),
    refused("invalid", /CIDR/),
  );
  assert.throws(
    () => planVethWiring(bounds, "cni-1", wiring({ addresses: Array(17).fill("198.18.4.7/24") }), opts),
    refused("invalid", /at most 16/),
  );
});

Deno.test({
  name:
    "wire-veth wires a sandbox in one call; a second attachment only adds its address, which outlives the first",
  ignore: Deno.uid() !== 0 || !ipAvailable(),
  async fn() {
    const tag = `skvw${Deno.pid % 10000}`;
    await withSandboxNet(tag, "198.18.242", async ({ bridge, ns, netns, net, ctx }) => {
      const w = wiring({
        hostIfname: `${tag}h`,
        addresses: ["198.18.242.7/24"],
        routes: [{ destination: "0.0.0.0/0", gateway: "198.18.242.1" }],
      });
      const first = await net["wire-veth"]([netns, w], ctx) as { mac: string; created: boolean };
      assert.equal(first.created, true);
      const link = await ipJson<{ address: string; mtu: number; operstate: string }[]>([
        "-n",
        ns,
        "link",
        "show",
        "dev",
        "eth0",
      ]);
      assert.equal(link[0].address, first.mac);
      assert.equal(link[0].mtu, 1400);
      const host = await ipJson<{ master?: string }[]>(["link", "show", "dev", `${tag}h`]);
      assert.equal(host[0].master, bridge);
      const hairpin = Deno.readTextFileSync(`/sys/class/net/${tag}h/brport/hairpin_mode`).trim();
      assert.equal(hairpin, "1", "the host end is in hairpin mode from the start");
      const routes = await ipJson<{ dst: string; gateway?: string }[]>([
        "-n",
        ns,
        "route",
        "show",
        "default",
      ]);
      assert.equal(routes[0]?.gateway, "198.18.242.1");
      const again = await net["wire-veth"]([netns, { ...w, addresses: ["198.18.242.8/24"] }], ctx) as {
        created: boolean;
      };
      assert.deepEqual(again, { mac: "", created: false });
      assert.deepEqual(await ipv4Addresses(ns, "eth0"), ["198.18.242.7", "198.18.242.8"]);
      assert.equal(await promoteSecondaries(ns, "eth0"), "1");
      await assert.rejects(
        async () => await net["wire-veth"]([netns, { ...w, addresses: ["198.18.9.8/24"] }], ctx),
        /denied: address 198.18.9.8\/24 is outside the granted pod CIDRs 198.18.242.0\/24/,
      );
      // The first address goes (the first attachment's DEL): the second stays (promote_secondaries).
      await net["delete-address"]([netns, "eth0", "198.18.242.7/24"], ctx);
      assert.deepEqual(await ipv4Addresses(ns, "eth0"), ["198.18.242.8"]);
      await assert.rejects(
        async () => await net["wire-veth"](["/run/netns/other", w], ctx),
        /denied: netns \/run\/netns\/other is not the one of the sandbox being set up/,
      );
    });
  },
});

Deno.test({
  name: "wire-veth joins a bridge made again since its last wiring (its index looked up again)",
  ignore: Deno.uid() !== 0 || !ipAvailable(),
  async fn() {
    const tag = `skvx${Deno.pid % 10000}`;
    const w = wiring({ hostIfname: `${tag}h`, addresses: ["198.18.243.7/24"], routes: [] });
    // The first wiring learns the bridge's index; the bridge then goes with its netns' pair.
    await withSandboxNet(tag, "198.18.243", async ({ netns, net, ctx }) => {
      await net["wire-veth"]([netns, w], ctx);
    });
    await withSandboxNet(tag, "198.18.243", async ({ bridge, netns, net, ctx }) => {
      const r = await net["wire-veth"]([netns, w], ctx) as { created: boolean };
      assert.equal(r.created, true);
      const host = await ipJson<{ master?: string }[]>(["link", "show", "dev", `${tag}h`]);
      assert.equal(host[0].master, bridge);
    });
  },
});
