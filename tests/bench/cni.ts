/**
 * `./skiff bench cni`: the pod network's add + del per pod through the built-in `bridge` +
 * `host-local` components (Wasm, in runner processes, with their host-net and IPAM calls made by
 * the node, as on a node: node/cni/builtin_network.ts) against Debian's CNI binaries (`bridge` +
 * `host-local` run by the exec driver, node/cni/exec) — the baseline — in the same run, on the
 * same kind of namespace.
 * @module
 */
import { startBuiltinNetwork } from "../../node/cni/builtin_network.ts";
import type { NetworkPlugin } from "../../node/cni/api.ts";
import { CniExecNetwork } from "../../node/cni/exec/network.ts";
import { createNetns, deleteNetns } from "../../node/cni/netns.ts";
import { freeRange } from "../../node/cri/oci/testing.ts";
import { type BenchRow, percentile } from "./bench_row.ts";

const PODS = 30;

async function addDel(
  net: NetworkPlugin & { detachNamespace(n: string): Promise<void> },
  tag: string,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < PODS; i++) {
    const name = `skbcni${Deno.pid % 1000}${tag}${i}`;
    const netns = await createNetns(name);
    const req = { containerId: `bench-${tag}-${i}`, netns, ifName: "eth0" };
    const t = performance.now();
    await net.add(req);
    await net.del(req);
    await net.detachNamespace(netns);
    out.push(performance.now() - t);
    await deleteNetns(name);
  }
  return out;
}

export async function benchCni(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-cni-" });
  const builtinBridge = `skbcb${Deno.pid % 1000}`, execBridge = `skbce${Deno.pid % 1000}`;
  const components = await startBuiltinNetwork({ bridge: builtinBridge, podCIDR: await freeRange(), dataDir: `${dir}/builtin` });
  const builtin = components.network;
  await builtin.setUp();
  const subnet = await freeRange();
  await Deno.mkdir(`${dir}/net.d`);
  await Deno.writeTextFile(
    `${dir}/net.d/10-bench.conflist`,
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "bench",
      plugins: [{
        type: "bridge",
        bridge: execBridge,
        isGateway: true,
        ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: `${dir}/ipam-exec` },
      }],
    }),
  );
  const exec = new CniExecNetwork({
    confDir: `${dir}/net.d`,
    binDirs: ["/usr/lib/cni"],
    cacheDir: `${dir}/cache`,
  });
  try {
    await exec.setUp();
    await exec.status(); // VERSION checks once, outside the timings
    // Warm-up, then interleaved halves so that machine noise hits both alike.
    await addDel(builtin, "wb");
    await addDel(exec, "we");
    const b = [...await addDel(builtin, "b"), ...await addDel(builtin, "c")];
    const e = [...await addDel(exec, "e"), ...await addDel(exec, "f")];
    const p50b = percentile(b, 50), p50e = percentile(e, 50);
    return [{
      name: "pod network add + del through the built-in bridge + host-local components, p50",
      value: p50b,
      unit: "ms",
      baseline: { name: "Debian's CNI bridge + host-local binaries (exec), p50", value: p50e, unit: "ms" },
      ratio: p50b / p50e,
      target: "reported",
    }];
  } finally {
    await exec.tearDown().catch(() => {});
    await new Deno.Command("ip", { args: ["link", "del", execBridge], stderr: "null" }).output();
    await builtin.tearDown().catch(() => {});
    await components[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
