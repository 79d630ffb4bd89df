import assert from "node:assert/strict";
import { testWith } from "../../tests/harness.ts";
import { BridgeNetwork, hostVethName } from "./bridge.ts";
import { ip, ipAvailable, ipJson } from "./ip.ts";
import { createNetns, deleteNetns, nsenterArgv } from "./netns.ts";

const ROOT_AND_IP = {
  name: "root and iproute2",
  available: () => ipAvailable() && Deno.uid() === 0,
  hint: "run as root with iproute2 installed (apt-get install iproute2)",
};

testWith(
  [ROOT_AND_IP],
  "BridgeNetwork attaches sandboxes to the bridge, serves pod IPs to the host, and cleans up",
  async () => {
    const dir = await Deno.makeTempDir();
    const net = new BridgeNetwork({ bridge: "sktest0", podCIDR: "198.18.252.0/22", ipamDir: dir });
    const ns = "skiff-test-br";
    try {
      await net.setUp();
      await net.setUp(); // idempotent
      const netns = await createNetns(ns);
      const a = await net.add({ containerId: "a", netns, ifName: "eth0" });
      const b = await net.add({ containerId: "b", netns, ifName: "eth0" });
      assert.equal(a.ips[0].address, "198.18.252.2/22");
      assert.equal(b.ips[0].address, "198.18.252.3/22");
      assert.equal(a.ips[0].gateway, "198.18.252.1");
      await net.check({ containerId: "b", netns, ifName: "eth0" });

      // The host reaches a pod IP inside the namespace.
      const podIP = "198.18.252.3";
      const [cmd, ...args] = [
        ...nsenterArgv(ns),
        Deno.execPath(),
        "eval",
        `Deno.serve({hostname:"${podIP}",port:8080,onListen(){console.log("up")}},()=>new Response("pod"))`,
      ];
      const server = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).spawn();
      const reader = server.stdout.getReader();
      await reader.read();
      try {
        assert.equal(await (await fetch(`http://${podIP}:8080/`)).text(), "pod");
      } finally {
        server.kill("SIGKILL");
        await server.status;
        reader.releaseLock();
        await server.stdout.cancel();
      }

      // Removing the first attachment keeps the second address.
      await net.del({ containerId: "a", netns, ifName: "eth0" });
      await net.del({ containerId: "a", netns, ifName: "eth0" }); // idempotent
      await net.check({ containerId: "b", netns, ifName: "eth0" });
      await assert.rejects(() => net.check({ containerId: "a", netns, ifName: "eth0" }));
      await net.del({ containerId: "b", netns, ifName: "eth0" });
      await net.detachNamespace(netns);
      assert.equal((await net.ipam.allocations()).size, 0);
    } finally {
      await deleteNetns(ns);
      await net.tearDown();
      await Deno.remove(dir, { recursive: true });
    }
    const links = await ipJson<{ ifname: string }[]>(["link", "show"]);
    assert.ok(
      !links.some((l) => l.ifname === "sktest0" || l.ifname === hostVethName(ns)),
      "no link left behind",
    );
    await assert.rejects(() => ip(["netns", "exec", ns, "true"]));
  },
);
