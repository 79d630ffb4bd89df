/**
 * The network (CNI 1.1) and IPAM conformance suites, over the WIT verbs of
 * `skiff:network@0.1.0`. The implementations (the built-in `bridge` and `host-local`) run as on
 * a node; these cases are what each must pass. Operations are the WIT verbs (`add`, `del`,
 * `check`, `status`, `gc`, `version`) with records in jco's camelCase.
 *
 * With a {@linkcode NetworkEnv} (real network namespaces and a bridge, host-net performed by
 * the node's implementation), network plugins are also checked against the host's real state:
 * the address is on the sandbox's interface after ADD and gone after DEL, and an address
 * outside the granted pod CIDRs is refused.
 * @module
 */
import assert from "node:assert/strict";
import type { Case } from "../host/conformance.ts";

/** Real host state for network plugins: a bridge, a subnet the grant allows, namespaces. */
export interface NetworkEnv {
  bridge: string;
  /** The subnet of the configurations (inside the host-net grant's pod CIDRs). */
  subnet: string;
  /** A subnet outside the grant's pod CIDRs. */
  outside: string;
  /** Creates (once) the netns of an attachment; resolves to its path. */
  netns(id: string): Promise<string>;
  /** The IPv4 addresses (CIDR notation) of an interface inside a netns, as the kernel has them. */
  addresses(netns: string, ifname: string): Promise<string[]>;
}

type Attachment = ReturnType<typeof plainAttachment>;

function plainAttachment(id: string, netns = `/var/run/netns/cni-${id}`, bridge = "skiff0", subnet = "198.18.0.0/24") {
  return {
    containerId: id,
    netns,
    ifname: "eth0",
    args: [["K8S_POD_NAMESPACE", "default"], ["K8S_POD_NAME", `p-${id}`]],
    config: JSON.stringify({
      cniVersion: "1.1.0",
      name: "skiff",
      type: "bridge",
      bridge,
      ipam: { type: "host-local", ranges: [[{ subnet }]] },
    }),
    prevResult: undefined as string | undefined,
  };
}

type CniResult = { cniVersion: string; interfaces: unknown[]; ips: { address: string }[]; routes: unknown[] };

/** The suite for `network` or `ipam` plugins (`env`: check network plugins against the host). */
export function networkCases(kind: "network" | "ipam", env?: NetworkEnv): Case[] {
  const attachment = async (id: string, subnet?: string): Promise<Attachment> =>
    env ? plainAttachment(id, await env.netns(id), env.bridge, subnet ?? env.subnet) : plainAttachment(id);
  const real = kind === "network" && env;
  const cases: Case[] = [
    {
      name: "version lists 1.1.0 among the supported versions",
      async fn(newImpl) {
        await using p = await newImpl();
        const v = (await p.call("version")) as { supportedVersions: string[] };
        assert.ok(v.supportedVersions.includes("1.1.0"));
      },
    },
    {
      name: "status succeeds when the plugin is ready",
      async fn(newImpl) {
        await using p = await newImpl();
        await p.call("status", (await attachment("s")).config);
      },
    },
    {
      name: "add returns a CNI result with an IP, check passes, del succeeds twice (idempotent)",
      async fn(newImpl) {
        await using p = await newImpl();
        const a = await attachment("c1");
        const r = (await p.call("add", a)) as CniResult;
        assert.equal(r.cniVersion, "1.1.0");
        assert.ok(r.ips.length >= 1, "an address is allocated");
        if (kind === "network") assert.ok(r.interfaces.length >= 1, "the interfaces are reported");
        if (real) assert.ok((await real.addresses(a.netns, "eth0")).includes(r.ips[0].address), "the address is on eth0 in the netns");
        const done = { ...a, prevResult: JSON.stringify(r) };
        await p.call("check", done);
        await p.call("del", kind === "network" ? done : a);
        await p.call("del", kind === "network" ? done : a);
        if (real) assert.deepEqual(await real.addresses(a.netns, "eth0"), [], "the address (and interface) are gone");
      },
    },
    {
      name: "two attachments get different addresses",
      async fn(newImpl) {
        await using p = await newImpl();
        const r1 = (await p.call("add", await attachment("d1"))) as CniResult;
        const r2 = (await p.call("add", await attachment("d2"))) as CniResult;
        assert.notEqual(r1.ips[0].address, r2.ips[0].address);
        await p.call("del", { ...await attachment("d1"), prevResult: JSON.stringify(r1) });
        await p.call("del", { ...await attachment("d2"), prevResult: JSON.stringify(r2) });
      },
    },
    {
      name: "gc releases what is not in the valid list",
      async fn(newImpl) {
        await using p = await newImpl();
        const keep = await attachment("g1");
        const k = (await p.call("add", keep)) as CniResult;
        const g2 = (await p.call("add", await attachment("g2"))) as CniResult;
        await p.call("gc", keep.config, [{ containerId: "g1", ifname: "eth0" }]);
        const again = (await p.call("add", await attachment("g3"))) as CniResult;
        assert.ok(again.ips.length >= 1);
        await p.call("del", { ...keep, prevResult: JSON.stringify(k) });
        await p.call("del", { ...await attachment("g2"), prevResult: JSON.stringify(g2) });
        await p.call("del", { ...await attachment("g3"), prevResult: JSON.stringify(again) });
      },
    },
  ];
  if (real) {
    cases.push({
      name: "an address outside the granted pod CIDRs is refused by the host, and nothing stays behind",
      async fn(newImpl) {
        await using p = await newImpl();
        const a = await attachment("o1", real.outside);
        await assert.rejects(() => p.call("add", a), /outside the granted pod CIDRs/);
        assert.deepEqual(await real.addresses(a.netns, "eth0"), []);
        await p.call("del", a);
      },
    });
  }
  return cases;
}
