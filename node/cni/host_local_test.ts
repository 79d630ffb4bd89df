import assert from "node:assert/strict";
import { HostLocalIpam } from "./host_local.ts";

Deno.test("HostLocalIpam hands out addresses after the gateway, one per owner, and persists them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ipam = new HostLocalIpam(dir, "198.18.4.0/30");
    assert.equal(ipam.gateway, "198.18.4.1");
    assert.equal(await ipam.allocate("a"), "198.18.4.2");
    assert.equal(await ipam.allocate("a"), "198.18.4.2", "idempotent");
    await assert.rejects(() => ipam.allocate("b"), /no free address/);
    assert.equal(await Deno.readTextFile(`${dir}/198.18.4.2`), "a\n");
    // A fresh allocator (an agent restart) sees the same allocations.
    const again = new HostLocalIpam(dir, "198.18.4.0/30");
    assert.equal(await again.find("a"), "198.18.4.2");
    assert.equal(await again.release("a"), "198.18.4.2");
    assert.equal(await again.release("a"), undefined);
    assert.equal(await again.allocate("b"), "198.18.4.2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HostLocalIpam scans round-robin from the last reserved address", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ipam = new HostLocalIpam(dir, "198.18.4.0/29");
    const got = [];
    for (const id of ["a", "b", "c"]) got.push(await ipam.allocate(id));
    await ipam.release("a");
    got.push(await ipam.allocate("d"));
    assert.deepEqual(got, ["198.18.4.2", "198.18.4.3", "198.18.4.4", "198.18.4.5"]);
    const parallel = await Promise.all(["e", "f"].map((id) => ipam.allocate(id)));
    assert.deepEqual(parallel.sort(), ["198.18.4.2", "198.18.4.6"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
