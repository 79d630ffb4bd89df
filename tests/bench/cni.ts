/**
 * `./skiff bench cni`: the pod network's add + del per pod through the built-in `bridge` +
 * `host-local` components (Wasm, in runner processes, with their host-net and IPAM calls made by
 * the node, as on a node: node/cni/builtin_network.ts) against Debian's CNI binaries (`bridge` +
 * `host-local` run by the exec driver, node/cni/exec) — the baseline — in the same run, on the
 * same kind of namespace. And the node's half of a sandbox's wiring alone: one `host-net`
 * `wire-veth` call (rtnetlink requests from the agent, node/hostcaps/veth_wire.ts) against the
 * same wiring by `ip` with the fewest processes it allows (one `ip -batch` in the agent's netns
 * for the pair, one `ip -n <netns> -batch` for the rest), interleaved on fresh namespaces.
 * @module
 */
import { startBuiltinNetwork } from "../../node/cni/builtin_network.ts";
import type { NetworkPlugin } from "../../node/cni/api.ts";
import { CniExecNetwork } from "../../node/cni/exec/network.ts";
import { createNetns, deleteNetns } from "../../node/cni/netns.ts";
import { freeRange } from "../../node/cri/oci/testing.ts";
import { type BenchRow, percentile } from "./bench_row.ts";
import { hostNet } from "../../node/hostcaps/host_net.ts";

const PODS = 30;

/** Runs `ip` with a batch on stdin. */
async function ipBatch(args: string[], lines: string[]): Promise<void> {
  const p = new Deno.Command("/usr/sbin/ip", { args: [...args, "-batch", "-"], stdin: "piped", stderr: "piped" }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await w.close();
  const out = await p.output();
  if (out.code) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** p50s (ms) of wiring one sandbox with `wire-veth` and with two `ip` processes, interleaved. */
async function wiring(bridge: string, podCIDR: string): Promise<{ batched: number; steps: number }> {
  const net = hostNet({ capability: "host-net" }, { bridge, podCIDR });
  const base = podCIDR.split("/")[0].split(".").slice(0, 3).join(".");
  const [gw, address] = [`${base}.1`, `${base}.9/${podCIDR.split("/")[1]}`];
  const batched: number[] = [], steps: number[] = [];
  for (let i = 0; i < 2 * PODS; i++) {
    const name = `skbw${Deno.pid % 1000}-${i}`;
    const netns = await createNetns(name);
    const ctx = { containerId: `w${i}`, netns };
    const veth = `skbw${Deno.pid % 1000}x${i}`;
    const t = performance.now();
    if (i % 2) {
      await net["wire-veth"]([netns, {
        hostIfname: veth,
        podIfname: "eth0",
        mtu: 0,
        addresses: [address],
        routes: [{ destination: "0.0.0.0/0", gateway: gw }],
      }], ctx);
      batched.push(performance.now() - t);
    } else {
      await ipBatch([], [`link add ${veth} master ${bridge} up type veth peer name eth0 netns ${name}`]);
      await ipBatch(["-n", name], ["link set lo up", `addr replace ${address} dev eth0`, "link set eth0 up", `route replace default via ${gw}`]);
      steps.push(performance.now() - t);
    }
    await deleteNetns(name);
  }
  return { batched: percentile(batched, 50), steps: percentile(steps, 50) };
}

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
    const w = await wiring(builtinBridge, builtin.podCIDR);
    return [{
      name: "sandbox wiring by the node: one host-net wire-veth call (rtnetlink), p50",
      value: w.batched,
      unit: "ms",
      baseline: {
        name: "the same by `ip`: `ip -batch` (pair) + `ip -n <netns> -batch` (lo, address, up, route), p50",
        value: w.steps,
        unit: "ms",
      },
      ratio: w.batched / w.steps,
      target: "reported",
    }, {
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
