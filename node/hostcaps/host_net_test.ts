import assert from "node:assert/strict";
import { ipAvailable, ipJson } from "../cni/ip.ts";
import { deleteNetns } from "../cni/netns.ts";
import { promoteSecondaries, withSandboxNet } from "./net_testing.ts";

Deno.test({
  name:
    "the one-step host-net verbs wire a sandbox, repeat harmlessly, and undo it even after its netns is gone",
  ignore: Deno.uid() !== 0 || !ipAvailable(),
  async fn() {
    const tag = `skhn${Deno.pid % 10000}`;
    const host = `${tag}h`;
    await withSandboxNet(tag, "198.18.241", async ({ bridge, ns, netns, net, ctx }) => {
      assert.deepEqual(await net["list-addresses"]([netns, "eth0"], ctx), []);
      const mac = await net["create-veth"]([netns, host, "eth0", 1450], ctx) as string;
      // Again (an earlier attempt's pair is replaced), then the rest, each twice.
      const mac2 = await net["create-veth"]([netns, host, "eth0", 1450], ctx) as string;
      assert.notEqual(mac2, mac);
      for (let i = 0; i < 2; i++) {
        await net["add-address"]([netns, "eth0", "198.18.241.7/24"], ctx);
        await net["set-link-up"]([netns, "eth0"], ctx);
        await net["add-route"]([netns, "0.0.0.0/0", "198.18.241.1"], ctx);
      }
      await net["add-address"]([netns, "eth0", "198.18.241.8/24"], ctx);
      const [link] = await ipJson<{ address: string; mtu: number; flags: string[] }[]>([
        "-n",
        ns,
        "link",
        "show",
        "dev",
        "eth0",
      ]);
      assert.equal(link.address, mac2);
      assert.equal(link.mtu, 1450);
      assert.ok(link.flags.includes("UP"));
      const [hostEnd] = await ipJson<{ master?: string; flags: string[] }[]>(["link", "show", "dev", host]);
      assert.equal(hostEnd.master, bridge);
      assert.ok(hostEnd.flags.includes("UP"));
      const routes = await ipJson<{ gateway?: string }[]>(["-n", ns, "route", "show", "default"]);
      assert.equal(routes[0]?.gateway, "198.18.241.1");
      assert.deepEqual(await net["list-addresses"]([netns, "eth0"], ctx), [
        "198.18.241.7/24",
        "198.18.241.8/24",
      ]);
      assert.equal(await promoteSecondaries(ns, "eth0"), "1");
      await net["delete-address"]([netns, "eth0", "198.18.241.7/24"], ctx);
      await net["delete-address"]([netns, "eth0", "198.18.241.7/24"], ctx);
      assert.deepEqual(await net["list-addresses"]([netns, "eth0"], ctx), ["198.18.241.8/24"]);
      await assert.rejects(
        async () => await net["add-address"]([netns, "eth9", "198.18.241.9/24"], ctx),
        /failed: Cannot find device "eth9": ENODEV/,
      );
      await net["delete-link"]([netns, "eth0"], ctx);
      await net["delete-link"]([netns, "eth0"], ctx);
      assert.equal(await Deno.stat(`/sys/class/net/${host}`).then(() => true, () => false), false);
      await deleteNetns(ns);
      // The sandbox's netns is gone: the DEL's verbs succeed; wiring fails with a clear error.
      assert.deepEqual(await net["list-addresses"]([netns, "eth0"], ctx), []);
      await net["delete-address"]([netns, "eth0", "198.18.241.8/24"], ctx);
      await net["delete-link"]([netns, "eth0"], ctx);
      await assert.rejects(
        async () =>
          await net["wire-veth"]([netns, {
            hostIfname: host,
            podIfname: "eth0",
            mtu: 0,
            addresses: ["198.18.241.7/24"],
            routes: [],
          }], ctx),
        new RegExp(`failed: wiring ${ns} failed: open /run/netns/${ns}: ENOENT`),
      );
    });
  },
});

Deno.test({
  name: "wire-veth replaces a pair an earlier attempt left under the host end's name",
  ignore: Deno.uid() !== 0 || !ipAvailable(),
  async fn() {
    const tag = `skhr${Deno.pid % 10000}`;
    const host = `${tag}h`;
    await withSandboxNet(tag, "198.18.240", async ({ bridge, netns, net, ctx }) => {
      try {
        const left = await new Deno.Command("ip", {
          args: ["link", "add", host, "type", "veth", "peer", "name", `${tag}p`],
        })
          .output();
        assert.equal(left.code, 0);
        const w = { hostIfname: host, podIfname: "eth0", mtu: 0, addresses: ["198.18.240.7/24"], routes: [] };
        const r = await net["wire-veth"]([netns, w], ctx) as { created: boolean };
        assert.equal(r.created, true);
        assert.equal(await Deno.stat(`/sys/class/net/${tag}p`).then(() => true, () => false), false);
        const [hostEnd] = await ipJson<{ master?: string }[]>(["link", "show", "dev", host]);
        assert.equal(hostEnd.master, bridge);
        assert.deepEqual(await net["list-addresses"]([netns, "eth0"], ctx), [
          "198.18.240.7/24",
        ]);
      } finally {
        await new Deno.Command("ip", { args: ["link", "del", host], stderr: "null" }).output();
      }
    });
  },
});
