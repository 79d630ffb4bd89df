/**
 * IPAM plugins on nodes, end to end: the built-in `host-local` IPAM component, built from source
 * during the run (cached in tests/.cache/plugins) and pushed to a real registry, loaded by a real
 * node agent from a Plugin object (one runner process), asked for the addresses of real pods on
 * the node's bridge; replaced while pods run (new pods get addresses from the new version, old
 * pods keep theirs and still answer); a failing IPAM plugin is the pod's sandbox error.
 */
import assert from "node:assert/strict";
import { R } from "../control/api/client.ts";
import { ipToNumber, parseCidr } from "../control/api/cidr.ts";
import type { KubeObject } from "../control/api/types.ts";
import { type PluginObject, PLUGINS } from "../control/api/plugins.ts";
import type { AdmissionAttributes } from "../control/apiserver/context.ts";
import { NodeAuthorizer } from "../control/apiserver/rbac/node_authorizer.ts";
import { NodeGraph } from "../control/apiserver/rbac/node_graph.ts";
import { nodeRestriction } from "../control/apiserver/rbac/node_restriction.ts";
import { attributes } from "../control/apiserver/rbac/types.ts";
import { pushPlugin } from "../cli/plugin.ts";
import { nodeLoads } from "../node/plugins.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { componentImpl, runTest } from "../plugins/host/conformance.ts";
import { readStateFile } from "../plugins/host/state_file.ts";
import { eventually, ROOT, testWith } from "./harness.ts";
import { NODE } from "./fixtures/build.ts";
import { pushFixture } from "./fixtures/push.ts";
import {
  NETWORK_PREREQUISITES,
  type NetworkCluster,
  readyPods,
  startNetworkCluster,
  wasmDeployment,
} from "./network_harness.ts";

const SOURCE = `${ROOT}/plugins/network/builtin/host_local/plugin.ts`;
const build = () => buildPlugin({ kind: "ipam", source: SOURCE });

if (NODE.available()) {
  runTest(
    "ipam",
    "host-local (state store)",
    async (settings) =>
      componentImpl("ipam", (await build()).bytes, { grants: [{ capability: "state" }] })(settings),
  );
}

Deno.test("a node credential reads Plugins and writes only its own entry of their status", async () => {
  const node1 = { username: "system:node:node-1", groups: ["system:nodes", "system:authenticated"] };
  const authz = new NodeAuthorizer(new NodeGraph());
  const decide = (verb: string, subresource = "") =>
    authz.authorize(
      attributes(node1, { verb, group: "skiff.dev", resource: "plugins", subresource, name: "p" }),
    ).decision;
  for (const verb of ["get", "list", "watch"]) assert.equal(decide(verb), "allow", verb);
  assert.equal(decide("update", "status"), "allow");
  for (const verb of ["create", "update", "delete"]) {
    assert.notEqual(decide(verb), "allow", `${verb} plugins`);
  }
  const entry = (name: string, status: string) => ({
    name,
    conditions: [{ type: "Loaded", status, reason: "Loaded", message: "", lastTransitionTime: "" }],
  });
  const obj = (...components: unknown[]) => ({ metadata: { name: "p" }, spec: {}, status: { components } });
  const write = (from: KubeObject, to: KubeObject) =>
    nodeRestriction.validate!({
      operation: "UPDATE",
      def: { group: "skiff.dev", plural: "plugins" },
      object: to,
      oldObject: from,
      namespace: "",
      name: "p",
      subresource: "status",
      user: node1,
      dryRun: false,
    } as unknown as AdmissionAttributes);
  const before = obj(entry("plugin-host", "True"), entry("node/node-2", "True"));
  await write(
    before,
    obj(entry("node/node-2", "True"), entry("plugin-host", "True"), entry("node/node-1", "False")),
  );
  await assert.rejects(
    async () =>
      await write(
        before,
        obj(entry("plugin-host", "True"), entry("node/node-2", "False"), entry("node/node-1", "True")),
      ),
    /may only modify its own entry \(node\/node-1\)/,
  );
  await assert.rejects(
    async () => await write(before, obj(entry("node/node-1", "True"))),
    /may only modify its own entry/,
  );
});

Deno.test("a node loads the ipam Plugins whose node selector matches its labels", () => {
  const p = (kind: string, nodeSelector?: Record<string, string>) =>
    ({ metadata: { name: "x" }, spec: { kind, image: "i", nodeSelector } }) as unknown as PluginObject;
  assert.ok(nodeLoads(p("ipam"), { a: "1" }));
  assert.ok(nodeLoads(p("ipam", { a: "1" }), { a: "1", b: "2" }));
  assert.ok(!nodeLoads(p("ipam", { a: "2" }), { a: "1" }));
  assert.ok(!nodeLoads(p("ipam", { a: "1" }), undefined));
  assert.ok(!nodeLoads(p("admission"), {}));
  assert.ok(nodeLoads(p("network"), {}), "network (interface) plugins are hosted on nodes");
});

async function apply(c: NetworkCluster, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
  assert.equal(r.code, 0, r.stderr);
}

function ipamPlugin(
  name: string,
  image: string,
  config: unknown,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name },
    spec: {
      kind: "ipam",
      image,
      config,
      grants: [{ capability: "state" }, { capability: "log" }],
      timeoutSeconds: 5,
      ...extra,
    },
  };
}

/** Waits until the node reports that generation of the Plugin with Loaded = `loaded`. */
async function nodeLoaded(c: NetworkCluster, name: string, loaded: "True" | "False", timeoutMs = 30_000) {
  return await eventually(`node/node-1 to report ${name} Loaded=${loaded}`, async () => {
    const p = await c.client.get<PluginObject>(PLUGINS, "", name);
    const comp = p.status?.components?.find((x) => x.name === "node/node-1");
    const cond = comp?.conditions.find((x) => x.type === "Loaded");
    return comp && comp.observedGeneration === p.metadata.generation && cond?.status === loaded
      ? { plugin: p, comp }
      : undefined;
  }, timeoutMs);
}

/** Ready pods of a Deployment with their addresses. */
async function podIPs(c: NetworkCluster, app: string, n: number): Promise<Map<string, string>> {
  const pods = await eventually(`${n} ready pods of ${app}`, async () => {
    const ps = await readyPods(c, `app=${app}`);
    return ps.length === n && ps.every((p) => p.status?.podIP) ? ps : undefined;
  }, 45_000);
  return new Map(pods.map((p) => [p.metadata.name!, p.status!.podIP as string]));
}

function state(c: NetworkCluster, plugin: string): Map<string, string> {
  const raw = readStateFile(`${c.dataDir}/node/plugins/state/${plugin}.json`);
  return new Map([...raw].map(([k, v]) => [k, new TextDecoder().decode(v)]));
}

testWith(
  [...NETWORK_PREREQUISITES, NODE],
  "IPAM plugins on a node: pods get addresses from the Plugin; replacing it while pods run moves new pods to the new version, old pods keep theirs; a failing one is the sandbox's error",
  async () => {
    await using c = await startNetworkCluster();
    const built = await build();
    const ref = `${c.registry.host}/plugins/host-local:1`;
    const digest = await pushPlugin(ref, built.bytes, "ipam", `${c.dataDir}/push-blobs`);
    const image = `${c.registry.host}/plugins/host-local@${digest}`;
    const web = (await pushFixture(c.registry.host, "http_sm")).reference;
    const cidr = parseCidr(c.podCIDR);
    const mid = cidr.base + 2 ** (32 - cidr.bits) / 2;
    const lower = (ip: string) => ipToNumber(ip)! > cidr.base + 1 && ipToNumber(ip)! < mid;
    const upper = (ip: string) =>
      ipToNumber(ip)! >= mid && ipToNumber(ip)! < cidr.base + 2 ** (32 - cidr.bits) - 1;

    // Version A: the lower half of the node's pod CIDR.
    await apply(c, ipamPlugin("pod-ipam", image, { range: "lower-half" }));
    const a = await nodeLoaded(c, "pod-ipam", "True");
    assert.equal(a.comp.digest, digest);
    assert.equal(a.comp.conditions.find((x) => x.type === "Ready")?.status, "True");
    await apply(c, wasmDeployment("old", web, { replicas: 2 }));
    const old = await podIPs(c, "old", 2);
    for (const [pod, ip] of old) {
      assert.ok(lower(ip), `${pod} got ${ip}, not from the lower half of ${c.podCIDR}`);
    }
    const storeA = state(c, "pod-ipam");
    for (const ip of old.values()) {
      assert.ok(storeA.has(`ip/${ip}`), `${ip} is in the plugin's store: ${[...storeA.keys()]}`);
    }

    // Version B replaces A (same Plugin, new config: a new generation) while the old pods run.
    await apply(c, ipamPlugin("pod-ipam", image, { range: "upper-half" }));
    const b = await nodeLoaded(c, "pod-ipam", "True");
    assert.equal(b.plugin.metadata.generation, 2);
    await apply(c, wasmDeployment("new", web, { replicas: 2 }));
    const fresh = await podIPs(c, "new", 2);
    for (const [pod, ip] of fresh) {
      assert.ok(upper(ip), `${pod} got ${ip}, not from the upper half of ${c.podCIDR}`);
    }

    // The old pods are untouched: the same pods, the same addresses, still answering.
    assert.deepEqual(await podIPs(c, "old", 2), old);
    const client = await c.clientPod({ dns: false });
    for (const [pod, ip] of old) {
      const r = await client.curl(`http://${ip}:8080/`);
      assert.equal(r.code, 200, `${pod} at ${ip} answers`);
    }

    // Deleting an old pod releases its address in the store A allocated it in.
    const [victim, victimIP] = [...old][0];
    const del = await c.kubectl(["delete", "pod", victim, "--wait=true", "--timeout=30s"], undefined, 40_000);
    assert.equal(del.code, 0, del.stderr);
    await eventually(
      `${victimIP} released`,
      () => Promise.resolve(!state(c, "pod-ipam").has(`ip/${victimIP}`)),
      20_000,
    );
    const replaced = await podIPs(c, "old", 2);
    const replacement = [...replaced].find(([name]) => !old.has(name))!;
    assert.ok(
      upper(replacement[1]),
      `the replacement ${replacement[0]} got ${replacement[1]} from the new version`,
    );

    // A broken IPAM plugin that sorts first takes over: with failurePolicy Fail, new pods fail
    // with FailedCreatePodSandBox (the node reports Loaded=False); deleting it lets them run.
    await apply(c, ipamPlugin("a-broken", `${c.registry.host}/plugins/missing:1`, {}));
    await nodeLoaded(c, "a-broken", "False");
    await apply(c, wasmDeployment("blocked", web, { replicas: 1 }));
    const event = await eventually("a FailedCreatePodSandBox event", async () => {
      const evs = (await c.client.list(R.events, "default")).items;
      return evs.find((e) =>
        e.reason === "FailedCreatePodSandBox" && e.involvedObject?.name?.startsWith("blocked-")
      );
    }, 30_000);
    assert.match(event.message, /IPAM plugin "a-broken" failed \(ADD\)/);
    assert.equal((await readyPods(c, "app=blocked")).length, 0);
    // failurePolicy Ignore: the built-in host-local Plugin allocates, around the plugins' addresses.
    await apply(
      c,
      ipamPlugin("a-broken", `${c.registry.host}/plugins/missing:1`, {}, { failurePolicy: "Ignore" }),
    );
    const [[, builtinIP]] = [...await podIPs(c, "blocked", 1)];
    const network = c.agent.network;
    assert.ok("records" in network);
    assert.ok(state(c, "host-local").has(`ip/${builtinIP}`), `${builtinIP} comes from the built-in host-local`);
    const records = await network.records.all();
    assert.equal(records.find((r) => r.address === builtinIP)?.ipam, "host-local");
    const delegated = records.filter((r) => r.ipam === "pod-ipam").map((r) => r.address);
    assert.ok(!delegated.includes(builtinIP), `${builtinIP} is not one of the plugin's ${delegated}`);
    const r = await c.kubectl(["delete", "plugin", "a-broken"]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      "the node to forget a-broken",
      () => Promise.resolve(!c.agent.plugins!.host.list().some((e) => e.name === "a-broken")),
    );
    await apply(c, wasmDeployment("blocked", web, { replicas: 2 }));
    const blocked = await podIPs(c, "blocked", 2);
    const added = [...blocked.values()].filter((ip) => ip !== builtinIP);
    assert.equal(added.length, 1);
    assert.ok(upper(added[0]), `after the broken plugin is gone, pod-ipam allocates (${added[0]})`);

    // A node selector that no longer matches: the node unloads the Plugin and drops its status entry.
    const moved = await c.kubectl([
      "patch",
      "plugin",
      "pod-ipam",
      "--type=merge",
      "-p",
      '{"spec":{"nodeSelector":{"skiff.dev/ipam":"elsewhere"}}}',
    ]);
    assert.equal(moved.code, 0, moved.stderr);
    await eventually("node/node-1 to leave pod-ipam's status", async () => {
      const p = await c.client.get<PluginObject>(PLUGINS, "", "pod-ipam");
      return !(p.status?.components ?? []).some((x) => x.name === "node/node-1") &&
        !c.agent.plugins!.host.list().some((e) => e.name === "pod-ipam");
    });
  },
);
