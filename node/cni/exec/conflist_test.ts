import assert from "node:assert/strict";
import { CniError } from "../api.ts";
import { parseConflist, selectConfFile } from "./conflist.ts";
import { bridgeFacts, sharedIfName } from "./network.ts";

const LIST = JSON.stringify({
  cniVersion: "1.0.0",
  name: "pods",
  plugins: [
    {
      type: "bridge",
      bridge: "cni9",
      isGateway: true,
      ipam: { type: "host-local", ranges: [[{ subnet: "198.18.200.0/24" }]] },
    },
    { type: "portmap", capabilities: { portMappings: true } },
  ],
});

Deno.test("parseConflist reads a network configuration list", () => {
  const l = parseConflist(LIST, "10-pods.conflist");
  assert.equal(l.name, "pods");
  assert.equal(l.cniVersion, "1.0.0");
  assert.deepEqual(l.plugins.map((p) => p.type), ["bridge", "portmap"]);
  assert.equal(l.disableCheck, false);
  assert.deepEqual(bridgeFacts(l), { bridge: "cni9", subnet: "198.18.200.0/24", gateway: "198.18.200.1" });
});

Deno.test("parseConflist takes a single-plugin .conf as a one-plugin list", () => {
  const l = parseConflist(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: "one",
      type: "bridge",
      ipam: { type: "host-local", subnet: "198.18.7.0/24", gateway: "198.18.7.254" },
    }),
    "x.conf",
    true,
  );
  assert.deepEqual(l.plugins, [{
    type: "bridge",
    ipam: { type: "host-local", subnet: "198.18.7.0/24", gateway: "198.18.7.254" },
  }]);
  assert.equal(bridgeFacts(l).gateway, "198.18.7.254");
  assert.equal(bridgeFacts(l).bridge, "cni0", "the bridge plugin's default");
});

Deno.test("parseConflist rejects invalid lists with CNI error codes", () => {
  const code = (text: string) => {
    try {
      parseConflist(text, "f");
    } catch (e) {
      assert.ok(e instanceof CniError);
      return [e.code, e.message];
    }
    assert.fail(`accepted ${text}`);
  };
  assert.equal(code("{")[0], 6);
  assert.equal(code(JSON.stringify({ name: "x", plugins: [{ type: "a" }] }))[0], 7);
  const [c, m] = code(JSON.stringify({ cniVersion: "0.3.1", name: "x", plugins: [{ type: "a" }] }));
  assert.equal(c, 1);
  assert.match(String(m), /0\.3\.1 is not supported/);
  assert.match(String(code(JSON.stringify({ cniVersion: "1.0.0", name: "x", plugins: [] }))[1]), /non-empty/);
  assert.match(
    String(code(JSON.stringify({ cniVersion: "1.0.0", name: "x", plugins: [{ type: "../sh" }] }))[1]),
    /type/,
  );
  assert.match(
    String(code(JSON.stringify({ cniVersion: "1.0.0", name: "bad name", plugins: [{ type: "a" }] }))[1]),
    /name/,
  );
});

Deno.test("selectConfFile picks the first configuration file in lexical order", () => {
  assert.equal(selectConfFile(["README", "20-b.conflist", "10-a.conf", "99.json"]), "10-a.conf");
  assert.equal(selectConfFile(["notes.txt"]), undefined);
});

Deno.test("sharedIfName is a valid, stable interface name per attachment", () => {
  assert.equal(sharedIfName("abc"), sharedIfName("abc"));
  assert.notEqual(sharedIfName("abc"), sharedIfName("abd"));
  assert.match(sharedIfName("abc"), /^p[0-9a-f]{8}$/);
});
