import assert from "node:assert/strict";
import { CniError } from "../api.ts";
import { parseConflist } from "./conflist.ts";
import {
  invocationEnv,
  parseError,
  parseResult,
  parseVersion,
  pluginStdin,
  primaryIp,
  versionAtLeast,
} from "./protocol.ts";

const att = {
  containerId: "c1",
  netns: "/run/netns/n1",
  ifName: "eth0",
  args: { K8S_POD_NAME: "p", K8S_POD_NAMESPACE: "d" },
};

Deno.test("invocationEnv sets the CNI_* variables per verb", () => {
  assert.deepEqual(invocationEnv("ADD", ["/usr/lib/cni", "/opt/cni/bin"], att), {
    CNI_COMMAND: "ADD",
    CNI_PATH: "/usr/lib/cni:/opt/cni/bin",
    CNI_CONTAINERID: "c1",
    CNI_NETNS: "/run/netns/n1",
    CNI_IFNAME: "eth0",
    CNI_ARGS: "K8S_POD_NAME=p;K8S_POD_NAMESPACE=d",
  });
  assert.deepEqual(invocationEnv("STATUS", ["/b"], att), { CNI_COMMAND: "STATUS", CNI_PATH: "/b" });
  assert.deepEqual(invocationEnv("GC", ["/b"]), { CNI_COMMAND: "GC", CNI_PATH: "/b" });
  assert.equal(invocationEnv("DEL", ["/b"], { ...att, args: undefined }).CNI_ARGS, undefined);
});

Deno.test("pluginStdin injects name, cniVersion, prevResult and valid attachments", () => {
  const list = parseConflist(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: "net",
      plugins: [{ type: "a", x: 1, name: "ignored", prevResult: "stale" }],
    }),
  );
  assert.deepEqual(JSON.parse(pluginStdin(list, list.plugins[0])), {
    type: "a",
    x: 1,
    name: "net",
    cniVersion: "1.1.0",
  });
  const prev = { cniVersion: "1.1.0", ips: [{ address: "198.18.1.2/24" }] };
  assert.deepEqual(JSON.parse(pluginStdin(list, list.plugins[0], { prevResult: prev })).prevResult, prev);
  const gc = JSON.parse(
    pluginStdin(list, list.plugins[0], { validAttachments: [{ containerID: "c1", ifname: "eth0" }] }),
  );
  assert.deepEqual(gc["cni.dev/valid-attachments"], [{ containerID: "c1", ifname: "eth0" }]);
});

Deno.test("parseResult reads a CNI result and rejects garbage", () => {
  const r = parseResult(
    "bridge",
    JSON.stringify({
      cniVersion: "1.0.0",
      interfaces: [{ name: "cni0", mac: "aa" }, { name: "eth0", sandbox: "/run/netns/n1" }],
      ips: [{ address: "fd00::2/64", interface: 1 }, {
        address: "198.18.1.2/24",
        gateway: "198.18.1.1",
        interface: 1,
      }],
      dns: { nameservers: ["198.18.1.1"] },
    }),
  );
  assert.equal(r.interfaces.length, 2);
  assert.deepEqual(r.routes, []);
  assert.equal(primaryIp(r), "198.18.1.2");
  assert.deepEqual(r.dns, { nameservers: ["198.18.1.1"] });
  assert.throws(() => parseResult("x", "hello"), /plugin x returned an invalid result: not JSON/);
  assert.throws(
    () => parseResult("x", JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "198.18.1.2" }] })),
    /not a CIDR/,
  );
  assert.throws(
    () =>
      parseResult(
        "x",
        JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "198.18.1.2/24", interface: 3 }] }),
      ),
    /names no interface/,
  );
  assert.throws(() => parseResult("x", JSON.stringify({ ips: [] })), /cniVersion is missing/);
});

Deno.test("parseError turns a CNI error or stderr into a CniError", () => {
  const e = parseError(
    "host-local",
    "ADD",
    1,
    JSON.stringify({
      cniVersion: "1.0.0",
      code: 11,
      msg: "no IP addresses available",
      details: "range full",
    }),
    "",
  );
  assert.ok(e instanceof CniError);
  assert.equal(e.code, 11);
  assert.equal(e.message, "plugin host-local failed (ADD): no IP addresses available: range full");
  const s = parseError("foo", "DEL", 2, "", "panic: boom\n");
  assert.equal(s.code, 999);
  assert.equal(s.message, "plugin foo failed (DEL) with exit code 2: panic: boom");
  assert.match(parseError("foo", "ADD", 1, "", "").message, /no error message/);
});

Deno.test("parseVersion and versionAtLeast", () => {
  assert.deepEqual(
    parseVersion("b", JSON.stringify({ cniVersion: "1.0.0", supportedVersions: ["0.4.0", "1.0.0"] })),
    ["0.4.0", "1.0.0"],
  );
  assert.throws(() => parseVersion("b", "nope"), /no valid VERSION answer/);
  assert.ok(versionAtLeast("1.1.0", "1.1.0"));
  assert.ok(versionAtLeast("1.10.0", "1.2.0"));
  assert.ok(!versionAtLeast("1.0.0", "1.1.0"));
});
