/**
 * Network plugins on nodes: the built-in `bridge` component passes the network conformance suite
 * with its `host-net` calls performed by the node's real implementation (real namespaces, a real
 * bridge) and its IPAM delegate the built-in `host-local` component; end to end, every pod of a
 * node gets its address through the default `bridge` Plugin (its status shows node/node-1
 * Loaded), and a new generation of it (another MTU) wires new pods while old pods keep theirs.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../control/api/types.ts";
import { type PluginObject, PLUGINS } from "../control/api/plugins.ts";
import type { AttachmentRecord } from "../node/cni/attachments.ts";
import { startBuiltinNetwork } from "../node/cni/builtin_network.ts";
import { ipJson } from "../node/cni/ip.ts";
import { netnsName } from "../node/cni/netns.ts";
import { networkSuite } from "../node/hostcaps/network_conformance.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { eventually, ROOT, testWith } from "./harness.ts";
import { NODE } from "./fixtures/build.ts";
import { pushFixture } from "./fixtures/push.ts";
import {
  NETWORK_PREREQUISITES,
  type NetworkCluster,
  NODE_PRIVILEGES,
  readyPods,
  startNetworkCluster,
  wasmDeployment,
} from "./network_harness.ts";

const build = () =>
  buildPlugin({ kind: "network", source: `${ROOT}/plugins/network/builtin/bridge/plugin.ts` });

testWith(
  [NODE_PRIVILEGES, NODE],
  "network conformance: the built-in bridge component, host-net performed by the node",
  async (t) => {
    await using suite = await networkSuite(async () => (await build()).bytes);
    for (const c of suite.cases) await t.step(c.name, () => c.fn(suite.newImpl));
    await t.step("a settings error refuses the plugin (ConfigInvalid on a node)", async () => {
      await assert.rejects(
        () => suite.newImpl(JSON.stringify({ mtu: 5 })),
        /did not load: under-test \(ConfigInvalid: .*mtu must be an integer/,
      );
    });
  },
);

testWith(
  [NODE],
  "a network plugin without the host-net grant is stopped by CapabilityDenied; the sandbox's ADD fails with it",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "skiff-bridge-denied-" });
    try {
      await using net = await startBuiltinNetwork({
        bridge: "skdenied0",
        podCIDR: "198.18.245.0/24",
        dataDir: dir,
        specs: { bridge: { grants: [{ capability: "state" }, { capability: "log" }] } },
      });
      const req = { containerId: "denied-1", netns: "/run/netns/skdenied-1", ifName: "eth0" };
      await assert.rejects(
        () => net.network.add(req),
        /network plugin "bridge" failed \(ADD\): plugin "bridge" called skiff:host\/host-net\.wire-veth, which is not granted/,
      );
      assert.deepEqual(await net.network.allocations(), new Map());
      assert.ok(
        net.plugins.host.list().find((e) => e.name === "bridge")?.ready,
        "the runner survives (the instance was recycled)",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

async function apply(c: NetworkCluster, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
  assert.equal(r.code, 0, r.stderr);
}

/** The MTU of eth0 in an attachment's netns. */
async function mtuOf(netns: string): Promise<number | undefined> {
  const links = await ipJson<{ mtu?: number }[]>(["-n", netnsName(netns), "link", "show", "dev", "eth0"])
    .catch(() => []);
  return links[0]?.mtu;
}

testWith(
  [...NETWORK_PREREQUISITES, NODE],
  "every pod gets its address through the default bridge Plugin; a new generation of it wires new pods, old pods keep theirs",
  async () => {
    await using c = await startNetworkCluster();
    const web = (await pushFixture(c.registry.host, "http_sm")).reference;
    const loaded = (generation: number) =>
      eventually(`node/node-1 to run generation ${generation} of bridge`, async () => {
        const p = await c.client.get<PluginObject>(PLUGINS, "", "bridge");
        const comp = p.status?.components?.find((x) => x.name === "node/node-1");
        const ok = comp?.observedGeneration === generation &&
          comp.conditions.some((x) => x.type === "Loaded" && x.status === "True");
        return ok ? { p, comp } : undefined;
      }, 60_000);
    const first = await loaded(1);
    assert.equal(first.p.spec.image, "builtin:bridge");
    assert.match(first.comp!.digest ?? "", /^sha256:[0-9a-f]{64}$/);
    const node = await c.client.get<KubeObject>(
      { group: "", version: "v1", plural: "nodes", namespaced: false },
      "",
      "node-1",
    );
    assert.equal(node.status.conditions.find((x: { type: string }) => x.type === "Ready")?.status, "True");

    await apply(c, wasmDeployment("old", web, { replicas: 2 }));
    const old = await eventually("2 ready pods of old", async () => {
      const ps = await readyPods(c, "app=old");
      return ps.length === 2 && ps.every((p) => p.status?.podIP) ? ps : undefined;
    }, 45_000);
    const network = c.agent.network;
    assert.ok("records" in network);
    for (const p of old) {
      const rec: AttachmentRecord | undefined = (await network.records.all()).find((x) =>
        x.address === p.status.podIP
      );
      assert.equal(rec?.network, "bridge", `${p.metadata.name}'s address was set up by the bridge Plugin`);
      assert.equal(rec?.ipam, "host-local");
      assert.equal(await mtuOf(rec!.netns), 1500);
    }

    // A new generation: another MTU. New pods (another namespace: a new sandbox) get it.
    const r = await c.kubectl([
      "patch",
      "plugin",
      "bridge",
      "--type=merge",
      "-p",
      '{"spec":{"config":{"mtu":1400}}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await loaded(2);
    const ns = await c.kubectl(["create", "namespace", "fresh"]);
    assert.equal(ns.code, 0, ns.stderr);
    await apply(c, wasmDeployment("new", web, { replicas: 1, namespace: "fresh" }));
    const [fresh] = await eventually("a ready pod of new", async () => {
      const ps = await readyPods(c, "app=new", "fresh");
      return ps.length === 1 && ps[0].status?.podIP ? ps : undefined;
    }, 45_000);
    const rec = (await network.records.all()).find((x) => x.address === fresh.status.podIP)!;
    assert.equal(await mtuOf(rec.netns), 1400, "the new generation wired the new pod");
    const client = await c.clientPod({ dns: false });
    for (const p of old) {
      const got = await client.curl(`http://${p.status.podIP}:8080/`);
      assert.equal(got.code, 200, `${p.metadata.name} still answers`);
    }
    assert.equal((await client.curl(`http://${fresh.status.podIP}:8080/`)).code, 200);
  },
);
