import assert from "node:assert/strict";
import type { PluginObject } from "../../control/api/plugins.ts";
import { pluginOrder } from "../plugins.ts";
import { type NetworkPluginSource, PluginNetwork, toCniResult } from "./plugin_network.ts";
import { ipAvailable } from "./ip.ts";

const plugin = (name: string, image: string, kind = "network") =>
  ({ metadata: { name }, spec: { kind, image } }) as unknown as PluginObject;

Deno.test("pluginOrder() puts users' Plugins first by name, then the built-ins", () => {
  const list = [
    plugin("bridge", "builtin:bridge"),
    plugin("zeta", "r/z:1"),
    plugin("alpha", "r/a:1"),
    plugin("a-builtin", "builtin:x"),
  ];
  assert.deepEqual(list.sort(pluginOrder).map((p) => p.metadata.name), [
    "alpha",
    "zeta",
    "a-builtin",
    "bridge",
  ]);
});

Deno.test("toCniResult() keeps CNI's fields and drops absent options", () => {
  const r = toCniResult({
    cniVersion: "1.1.0",
    interfaces: [{ name: "skiff0", mac: "" }, {
      name: "eth0",
      mac: "02:00:00:00:00:01",
      sandbox: "/run/netns/x",
    }],
    ips: [{ address: "198.18.0.2/24", gateway: "198.18.0.1", interface: 1 }],
    routes: [{ dst: "0.0.0.0/0", gw: "198.18.0.1" }],
    dns: { nameservers: [], search: [], options: [] },
  });
  assert.deepEqual(r.interfaces, [{ name: "skiff0" }, {
    name: "eth0",
    mac: "02:00:00:00:00:01",
    sandbox: "/run/netns/x",
  }]);
  assert.deepEqual(r.ips, [{ address: "198.18.0.2/24", gateway: "198.18.0.1", interface: 1 }]);
});

Deno.test({
  name:
    "status() reports NetworkReady=false NetworkPluginNotReady until the network Plugin is loaded, as upstream",
  ignore: !ipAvailable(),
  async fn() {
    let loaded = false;
    const calls: string[] = [];
    const source: NetworkPluginSource = {
      network: () => "bridge",
      ipamPlugins: () => [plugin("host-local", "builtin:host-local", "ipam")],
      get: () => undefined,
      loaded: () => loaded,
      call: (name, op) => {
        calls.push(`${name}.${op}`);
        return Promise.resolve(null);
      },
      log: () => {},
    };
    // `lo` stands in for the node's bridge: status only checks that the link exists.
    const net = new PluginNetwork({
      bridge: "lo",
      podCIDR: "198.18.0.0/24",
      dir: "/nonexistent",
      plugins: source,
    });
    await assert.rejects(
      () => net.status(),
      /^CniError: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: network plugin "bridge" is not loaded$/,
    );
    loaded = true;
    await net.status();
    assert.deepEqual(calls, ["bridge.status"]);
    const missing = new PluginNetwork({
      bridge: "skmissing0",
      podCIDR: "198.18.0.0/24",
      dir: "/nonexistent",
      plugins: source,
    });
    await assert.rejects(
      () => missing.status(),
      /NetworkPluginNotReady message:Network plugin returns error: bridge skmissing0 is missing/,
    );
  },
});
