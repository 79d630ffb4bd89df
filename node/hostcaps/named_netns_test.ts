import assert from "node:assert/strict";
import { addNamedNetns, deleteNamedNetns, namedNetnsAvailable } from "./named_netns.ts";
import { RtSocket } from "./netlink.ts";
import { linkIndex } from "./veth_wire.ts";

const root = Deno.uid() === 0;
const skip = !root || !namedNetnsAvailable();
const nsIno = (p: string) => Deno.statSync(p).ino;

Deno.test({
  name:
    "addNamedNetns() makes a namespace at the path, leaves the caller's own, and deleteNamedNetns() removes it",
  ignore: skip,
  async fn() {
    const path = `/run/netns/x5t-${crypto.randomUUID().slice(0, 8)}`;
    const mine = nsIno("/proc/thread-self/ns/net");
    try {
      addNamedNetns(path);
      assert.equal(nsIno("/proc/thread-self/ns/net"), mine, "the thread went back to its own netns");
      assert.notEqual(nsIno(path), mine, "the file is another network namespace");
      using s = RtSocket.open(path);
      assert((await linkIndex(s, "lo")) !== null, "a fresh netns has lo");
      assert.equal(await linkIndex(s, "eth0"), null);
      assert.throws(() => addNamedNetns(path), Deno.errors.AlreadyExists);
      // `ip` sees it as one of its named namespaces.
      const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
      assert(new TextDecoder().decode(out.stdout).includes(path.split("/").pop()!));
    } finally {
      await deleteNamedNetns(path);
    }
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    await deleteNamedNetns(path); // gone already: not an error
  },
});
