/**
 * Standard CNI plugins through the exec protocol (node/cni/exec): a node configured with a
 * conflist of Debian's `bridge` + `host-local` (containernetworking-plugins) gives a busybox
 * container pod and a Wasm pod their addresses from host-local's range; both answer from the
 * host; deleting them runs DEL (host-local's allocations and the result cache are gone, and so are
 * the network namespaces). A missing plugin binary and a broken conflist are sandbox errors with
 * a FailedCreatePodSandBox Event; the node stays up and recovers once the conflist is fixed.
 * @module
 */
import assert from "node:assert/strict";
import { R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { ipToNumber, parseCidr } from "../control/api/cidr.ts";
import { listNetns } from "../node/cni/netns.ts";
import { CRUN, freeRange, OCI_ROOT } from "../node/cri/oci/testing.ts";
import { ensureRuntimeClass, netnsPrefixFor, nodeRuntime, startNodeAgent } from "../node/mod.ts";
import { fixturePrerequisites } from "./fixtures/build.ts";
import { BUSYBOX_STATIC, busyboxImage, pushImage } from "./fixtures/oci/images.ts";
import { pushFixture } from "./fixtures/push.ts";
import { type Prerequisite, testWith } from "./harness.ts";
import { DOCKER_REGISTRY } from "./registry.ts";
import { startTestControlPlane } from "./test_control_plane.ts";

const CNI_BIN = "/usr/lib/cni";
const DEBIAN_CNI: Prerequisite = {
  name: "Debian's containernetworking-plugins",
  available: () =>
    ["bridge", "host-local"].every((b) => {
      try {
        return Deno.statSync(`${CNI_BIN}/${b}`).isFile;
      } catch {
        return false;
      }
    }),
  hint: "apt-get install containernetworking-plugins",
};

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

async function get(url: string): Promise<number> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 2000);
  try {
    const r = await fetch(url, { signal: ac.signal });
    await r.body?.cancel();
    return r.status;
  } finally {
    clearTimeout(t);
  }
}

function files(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

function conflist(subnet: string, bridge: string, ipamDir: string, plugins?: unknown[]): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: "skiff-test",
    plugins: plugins ?? [{
      type: "bridge",
      bridge,
      isGateway: true,
      ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: ipamDir },
    }],
  });
}

testWith(
  [OCI_ROOT, CRUN, DOCKER_REGISTRY, BUSYBOX_STATIC, DEBIAN_CNI, ...fixturePrerequisites("http_sm")],
  "Debian's bridge + host-local give container and Wasm pods their addresses; DEL releases them; errors are sandbox Events",
  async () => {
    const cp = await startTestControlPlane("skiff-cni-test-", { controllers: ["node-ipam-controller"] });
    const { dataDir: dir, client, registry } = cp;
    const confDir = `${dir}/net.d`, ipamDir = `${dir}/ipam`;
    await Deno.mkdir(confDir);
    const subnet = await freeRange();
    const bridge = `skcni${Deno.pid % 10000}`;
    const confPath = `${confDir}/10-skiff-test.conflist`;
    await Deno.writeTextFile(confPath, conflist(subnet, bridge, ipamDir));
    const nodeDir = `${dir}/node`;
    let agent: Awaited<ReturnType<typeof startNodeAgent>> | undefined;
    try {
      await ensureRuntimeClass(client, "wasm");
      const busybox =
        (await pushImage(registry.host, "test/busybox", "1.35", await busyboxImage())).reference;
      const wasmImage = (await pushFixture(registry.host, "http_sm")).reference;
      agent = await startNodeAgent({
        server: cp.url,
        name: "node-1",
        dataDir: nodeDir,
        port: 0,
        podCIDR: subnet, // unused by the CNI chain: host-local's range is the conflist's
        bridge: `skcnx${Deno.pid % 10000}`,
        cni: { confDir, binDirs: [CNI_BIN] },
        backoff: { baseMs: 300, capMs: 1500 },
        leaseIntervalMs: 2000,
        network: false,
        runtime: nodeRuntime({ wasm: { deadlineMs: 1500 } }),
      });
      const pods: KubeObject[] = [
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "ctr", namespace: "default" },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "httpd", image: busybox, ports: [{ containerPort: 8080 }] }],
          },
        },
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "wasm", namespace: "default" },
          spec: {
            runtimeClassName: "wasm",
            containers: [{ name: "c", image: wasmImage, ports: [{ containerPort: 8080 }] }],
          },
        },
        // A second Wasm pod of the namespace: same sandbox group and network namespace, its own interface.
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "wasm2", namespace: "default" },
          spec: {
            runtimeClassName: "wasm",
            containers: [{ name: "c", image: wasmImage, ports: [{ containerPort: 8080 }] }],
          },
        },
      ];
      const names = ["ctr", "wasm", "wasm2"];
      for (const p of pods) await client.create(R.pods, p);
      const range = parseCidr(subnet);
      const ips: string[] = [];
      for (const name of names) {
        const ip = await eventually(`pod ${name} running with an IP`, async () => {
          const p = await client.get(R.pods, "default", name);
          return p.status?.phase === "Running" && p.status.podIP ? p.status.podIP as string : undefined;
        }, 45_000).catch(async (e) => {
          const ev = (await client.list(R.events, "default")).items.map((x) => `${x.reason}: ${x.message}`);
          throw new Error(`${e.message}\nevents:\n${ev.join("\n")}`);
        });
        const n = ipToNumber(ip)!;
        assert.ok(
          n > range.base && n < range.base + 2 ** (32 - range.bits),
          `${name}'s IP ${ip} is in host-local's ${subnet}`,
        );
        ips.push(ip);
        await eventually(
          `pod ${name} answering on ${ip}:8080`,
          async () => (await get(`http://${ip}:8080/`)) < 500,
        );
      }
      // host-local's allocation files, one per pod, and libcni-style cached results.
      const allocated = () => files(`${ipamDir}/skiff-test`).filter((f) => ipToNumber(f) !== null);
      assert.deepEqual(allocated().sort(), [...ips].sort());
      assert.equal(new Set(ips).size, 3);
      assert.equal(files(`${nodeDir}/network/cni/results`).length, 3);
      const prefix = netnsPrefixFor(nodeDir);
      assert.ok(listNetns(prefix).length >= 2, "a namespace per sandbox (group)");

      // Deletion runs DEL: the addresses are released, the namespaces go.
      for (const name of names) await client.delete(R.pods, "default", name, { gracePeriodSeconds: 0 });
      await eventually("host-local's allocations released", () => Promise.resolve(allocated().length === 0));
      await eventually(
        "the result cache emptied",
        () => Promise.resolve(files(`${nodeDir}/network/cni/results`).length === 0),
      );
      // What stays is at most the runtime's one spare namespace (`<prefix>_n-…`, made ahead for
      // the next sandbox: docs/containers.md).
      await eventually("the sandboxes' network namespaces removed", () => {
        const left = listNetns(prefix);
        return Promise.resolve(left.length <= 1 && left.every((n) => n.startsWith(`${prefix}_n-`)));
      });

      // A missing plugin binary: a sandbox error with an Event; the node stays up.
      const bad = (name: string): KubeObject => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default" },
        spec: {
          nodeName: "node-1",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "httpd", image: busybox }],
        },
      });
      const sandboxEvent = (pod: string, re: RegExp) =>
        eventually(
          `a FailedCreatePodSandBox Event of ${pod} matching ${re}`,
          async () =>
            (await client.list(R.events, "default")).items.find((e) =>
              e.involvedObject?.name === pod && e.reason === "FailedCreatePodSandBox" && re.test(e.message)
            ),
        );
      await Deno.writeTextFile(
        confPath,
        conflist(subnet, bridge, ipamDir, [{ type: "skiff-missing-plugin" }]),
      );
      await client.create(R.pods, bad("missing"));
      await sandboxEvent(
        "missing",
        /failed to find plugin "skiff-missing-plugin" in path \[\/usr\/lib\/cni\]/,
      );
      // A broken conflist: likewise.
      await Deno.writeTextFile(confPath, "{ not json");
      await client.create(R.pods, bad("broken"));
      await sandboxEvent("broken", /10-skiff-test\.conflist: not JSON/);
      // Fixed: the node, still up, runs the pods.
      await Deno.writeTextFile(confPath, conflist(subnet, bridge, ipamDir));
      await eventually("the pods running once the conflist is fixed", async () => {
        const ps = await Promise.all(["missing", "broken"].map((n) => client.get(R.pods, "default", n)));
        return ps.every((p) => p.status?.phase === "Running");
      }, 30_000);
      for (const name of ["missing", "broken"]) {
        await client.delete(R.pods, "default", name, { gracePeriodSeconds: 0 });
      }
      await eventually(
        "host-local's allocations released again",
        () => Promise.resolve(allocated().length === 0),
      );
    } finally {
      await agent?.stop().catch(() => {});
      await cp.close();
      await new Deno.Command("ip", { args: ["link", "del", bridge], stderr: "null" }).output();
    }
  },
);
