import assert from "node:assert/strict";
import { ip, ipAvailable } from "../cni/ip.ts";
import { withSandboxNet } from "../hostcaps/net_testing.ts";
import { decodeAttrs, decodeMessages, encodeMessage, RTM_SETLINK } from "../hostcaps/netlink.ts";
import { setHairpin } from "../hostcaps/rt_requests.ts";
import { hairpinNewPorts } from "./hairpin.ts";
import { HostChanges } from "./host.ts";

Deno.test("setHairpin() encodes `bridge link set dev <port> hairpin on`: AF_BRIDGE, nested IFLA_PROTINFO", () => {
  const [m] = decodeMessages(encodeMessage(setHairpin(42), 5));
  assert.equal(m.type, RTM_SETLINK);
  assert.equal(m.body[0], 7, "AF_BRIDGE");
  assert.equal(new DataView(m.body.buffer, m.body.byteOffset).getInt32(4, true), 42);
  const raw = new DataView(m.body.buffer, m.body.byteOffset + 16);
  assert.equal(raw.getUint16(2, true), 12 | 0x8000, "IFLA_PROTINFO | NLA_F_NESTED");
  const protinfo = decodeAttrs(m.body, 16).get(12)!;
  assert.deepEqual([...decodeAttrs(protinfo, 0).get(4)!], [1], "IFLA_BRPORT_MODE = 1");
  const off = decodeMessages(encodeMessage(setHairpin(42, false), 6))[0];
  assert.deepEqual([...decodeAttrs(decodeAttrs(off.body, 16).get(12)!, 0).get(4)!], [0]);
});

const hairpinMode = (port: string) =>
  Deno.readTextFileSync(`/sys/class/net/${port}/brport/hairpin_mode`).trim();

/** A veth pair with `host` on the bridge and its peer in the netns (it goes with the netns). */
async function port(bridge: string, ns: string, host: string): Promise<void> {
  await ip(["link", "add", host, "type", "veth", "peer", "name", `${host}p`, "netns", ns]);
  await ip(["link", "set", host, "master", bridge, "up"]);
}

Deno.test({
  name: "HostChanges.hairpin() turns hairpin on for new bridge ports with rtnetlink, once per port",
  ignore: Deno.uid() !== 0 || !ipAvailable(),
  async fn() {
    const tag = `skhp${Deno.pid % 10000}`;
    await withSandboxNet(tag, "198.18.238", async ({ bridge, ns }) => {
      await port(bridge, ns, `${tag}h1`);
      await port(bridge, ns, `${tag}h2`);
      assert.equal(hairpinMode(`${tag}h1`), "0");
      const host = new HostChanges(bridge);
      await host.hairpin();
      assert.equal(hairpinMode(`${tag}h1`), "1");
      assert.equal(hairpinMode(`${tag}h2`), "1");
      // A port seen before is not asked again (turned off behind the proxy's back, it stays off).
      await ip(["link", "set", "dev", `${tag}h1`, "type", "bridge_slave", "hairpin", "off"]);
      await port(bridge, ns, `${tag}h3`);
      await host.hairpin();
      assert.equal(hairpinMode(`${tag}h1`), "0");
      assert.equal(hairpinMode(`${tag}h3`), "1");
      // Only the bridge's ports: its peers in the netns and links on other bridges are not touched.
      // rtnetlink itself (HostChanges falls back to `ip` when it fails): only unseen ports.
      const seen = new Set<string>([`${tag}h2`, `${tag}h3`]);
      assert.deepEqual(await hairpinNewPorts(bridge, seen), [`${tag}h1`]);
      assert.equal(hairpinMode(`${tag}h1`), "1");
      assert.deepEqual(await hairpinNewPorts(bridge, seen), []);
      // A port whose hairpin mode its plugin set already (wire-veth does) is seen, and stays on.
      await port(bridge, ns, `${tag}h4`);
      await ip(["link", "set", "dev", `${tag}h4`, "type", "bridge_slave", "hairpin", "on"]);
      assert.deepEqual(await hairpinNewPorts(bridge, seen), [`${tag}h4`]);
      assert.equal(hairpinMode(`${tag}h4`), "1");
      assert.deepEqual(await hairpinNewPorts(`${tag}none`, new Set()), []);
      await ip(["link", "del", `${tag}h1`]);
      await ip(["link", "del", `${tag}h2`]);
      await ip(["link", "del", `${tag}h3`]);
      await ip(["link", "del", `${tag}h4`]);
    });
  },
});
