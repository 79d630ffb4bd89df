/**
 * The network (CNI 1.1) and IPAM conformance suites, over the WIT verbs of
 * `skiff:network@0.1.0`. The implementations (the built-in `bridge` and `host-local`, and the
 * exec adapter for standard CNI binaries) come with the node-side half of plugins; these cases
 * are what each must pass. Operations are the WIT verbs (`add`, `del`, `check`, `status`, `gc`,
 * `version`) with records in jco's camelCase.
 * @module
 */
import assert from "node:assert/strict";
import type { Case } from "../host/conformance.ts";

function attachment(id: string, netns = `/var/run/netns/cni-${id}`) {
  return {
    containerId: id,
    netns,
    ifname: "eth0",
    args: [["K8S_POD_NAMESPACE", "default"], ["K8S_POD_NAME", `p-${id}`]],
    config: JSON.stringify({
      cniVersion: "1.1.0",
      name: "skiff",
      type: "bridge",
      bridge: "skiff0",
      ipam: { type: "host-local", ranges: [[{ subnet: "198.18.0.0/24" }]] },
    }),
    prevResult: undefined,
  };
}

type CniResult = { cniVersion: string; interfaces: unknown[]; ips: { address: string }[]; routes: unknown[] };

/** The suite for `network` or `ipam` plugins. */
export function networkCases(kind: "network" | "ipam"): Case[] {
  return [
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
        await p.call("status", attachment("s").config);
      },
    },
    {
      name: "add returns a CNI result with an IP, check passes, del succeeds twice (idempotent)",
      async fn(newImpl) {
        await using p = await newImpl();
        const a = attachment("c1");
        const r = (await p.call("add", a)) as CniResult;
        assert.equal(r.cniVersion, "1.1.0");
        assert.ok(r.ips.length >= 1, "an address is allocated");
        if (kind === "network") assert.ok(r.interfaces.length >= 1, "the interfaces are reported");
        await p.call("check", { ...a, prevResult: JSON.stringify(r) });
        await p.call("del", a);
        await p.call("del", a);
      },
    },
    {
      name: "two attachments get different addresses",
      async fn(newImpl) {
        await using p = await newImpl();
        const r1 = (await p.call("add", attachment("d1"))) as CniResult;
        const r2 = (await p.call("add", attachment("d2"))) as CniResult;
        assert.notEqual(r1.ips[0].address, r2.ips[0].address);
        await p.call("del", attachment("d1"));
        await p.call("del", attachment("d2"));
      },
    },
    {
      name: "gc releases what is not in the valid list",
      async fn(newImpl) {
        await using p = await newImpl();
        const keep = attachment("g1");
        await p.call("add", keep);
        await p.call("add", attachment("g2"));
        await p.call("gc", keep.config, [{ containerId: "g1", ifname: "eth0" }]);
        const again = (await p.call("add", attachment("g3"))) as CniResult;
        assert.ok(again.ips.length >= 1);
        await p.call("del", keep);
        await p.call("del", attachment("g3"));
      },
    },
  ];
}
