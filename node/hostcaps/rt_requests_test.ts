import assert from "node:assert/strict";
import {
  decodeAttrs,
  decodeMessages,
  encodeMessage,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
} from "./netlink.ts";
import { address, newVethPair, parseAddress, route } from "./rt_requests.ts";

const text = (b?: Uint8Array) => b && new TextDecoder().decode(b).replace(/\0$/, "");
const u32 = (b?: Uint8Array) => b && new DataView(b.buffer, b.byteOffset).getUint32(0, true);

Deno.test("newVethPair() encodes `ip link add <host> master <bridge> up type veth peer name <pod> address <mac> netns <fd>`", () => {
  const req = newVethPair(
    { hostIfname: "sk01", podIfname: "eth0", mtu: 1400, mac: "02:aa:00:00:00:01" },
    7,
    42,
  );
  const [m] = decodeMessages(encodeMessage(req, 9));
  assert.equal(m.type, RTM_NEWLINK);
  assert.equal(m.seq, 9);
  const flags = new DataView(m.body.buffer, m.body.byteOffset).getUint32(8, true);
  assert.equal(flags & 1, 1, "IFF_UP");
  const a = decodeAttrs(m.body, 16);
  assert.equal(text(a.get(3)), "sk01");
  assert.equal(u32(a.get(4)), 1400);
  assert.equal(u32(a.get(10)), 7);
  const info = decodeAttrs(a.get(18)!, 0);
  assert.equal(text(info.get(1)), "veth");
  const peer = decodeAttrs(decodeAttrs(info.get(2)!, 0).get(1)!, 16);
  assert.equal(text(peer.get(3)), "eth0");
  assert.deepEqual([...peer.get(1)!], [2, 0xaa, 0, 0, 0, 1]);
  assert.equal(u32(peer.get(28)), 42);
});

Deno.test("address() and route() encode `ip addr replace` and `ip route replace ... via`", () => {
  const [addr] = decodeMessages(encodeMessage(address({ address: "198.18.4.7", prefixLength: 24 }, 3), 1));
  assert.equal(addr.type, RTM_NEWADDR);
  assert.deepEqual(parseAddress(addr.body), { index: 3, cidr: "198.18.4.7/24" });
  const [r] = decodeMessages(
    encodeMessage(route({ address: "0.0.0.0", prefixLength: 0, gateway: "198.18.4.1" }, 3), 2),
  );
  assert.equal(r.type, RTM_NEWROUTE);
  assert.deepEqual([...r.body.subarray(0, 8)], [2, 0, 0, 0, 254, 3, 0, 1]);
  const ra = decodeAttrs(r.body, 12);
  assert.equal(ra.has(1), false, "a default route has no RTA_DST");
  assert.deepEqual([...ra.get(5)!], [198, 18, 4, 1]);
  assert.equal(u32(ra.get(4)), 3);
  const link = decodeAttrs(
    decodeMessages(encodeMessage(route({ address: "198.18.4.0", prefixLength: 24 }, 0), 3))[0].body,
    12,
  );
  assert.deepEqual([...link.get(1)!], [198, 18, 4, 0]);
  assert.equal(link.has(4), false, "index 0: the kernel picks the device");
});
