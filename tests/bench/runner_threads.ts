/**
 * Where a plugin runner's CPU goes, by thread: the built-in `host-local` IPAM component in one
 * runner process (as a node runs it, with its state file), `add` + `del` of an attachment
 * repeated, and the runner's CPU per call pair split into its main thread (`schedstat`, ns) (the guest and the
 * pipe), V8's helper threads (GC, the WebAssembly compilers) and Deno's blocking pool, from
 * `/proc/<pid>/task/*\/stat`. Extra V8 flags for the runner come as arguments, to compare:
 *
 * ```sh
 * deno run -A tests/bench/runner_threads.ts                       # the runner's defaults
 * deno run -A tests/bench/runner_threads.ts --single-threaded-gc   # one V8 flag more
 * ```
 * @module
 */
import { buildPlugin } from "../../plugins/host/build.ts";
import { PluginCache } from "../../plugins/host/prepare.ts";
import { Runner } from "../../plugins/host/runner_client.ts";
import { threadCpuMs, threadKind } from "./thread_cpu_log.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const PAIRS = Number(Deno.env.get("SKIFF_BENCH_PAIRS") ?? 100);
/** Pairs before the measurement (`SKIFF_BENCH_WARM`): 0 shows a fresh runner's tier-up work. */
const WARM = Number(Deno.env.get("SKIFF_BENCH_WARM") ?? 50);
/** The pause after the warm-up pairs, ms (`SKIFF_BENCH_IDLE_MS`): a node's runners idle long before its pods come. */
const IDLE_MS = Number(Deno.env.get("SKIFF_BENCH_IDLE_MS") ?? 500);
/** The pause between pairs, ms: 60 is about one container pod start (`SKIFF_BENCH_GAP_MS`). */
const GAP_MS = Number(Deno.env.get("SKIFF_BENCH_GAP_MS") ?? 60);

function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    const comm = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
    const k = threadKind(comm, Number(t.name) === pid);
    out.set(k, (out.get(k) ?? 0) + threadCpuMs(pid, Number(t.name)));
  }
  return out;
}

function attachment(id: string) {
  return {
    containerId: id,
    netns: `/var/run/netns/cni-${id}`,
    ifname: "eth0",
    args: [["K8S_POD_NAMESPACE", "default"], ["K8S_POD_NAME", `p-${id}`]],
    config: JSON.stringify({
      cniVersion: "1.1.0",
      name: "skiff",
      type: "bridge",
      bridge: "skiff0",
      ipam: { type: "host-local", ranges: [[{ subnet: "198.18.0.0/24" }]] },
    }),
  };
}

const built = await buildPlugin({
  kind: "ipam",
  source: `${ROOT}/plugins/network/builtin/host_local/plugin.ts`,
});
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-runner-threads-" });
try {
  using cache = new PluginCache(`${dir}/cache`);
  await Deno.mkdir(`${dir}/state`);
  const component = await cache.prepare("ipam", built.bytes);
  await using runner = await Runner.start({
    config: {
      plugin: "host-local",
      kind: "ipam",
      component,
      settings: "{}",
      grants: [{ capability: "log" }, { capability: "state" }],
      memoryBytes: 64 << 20,
      stateFile: `${dir}/state/host-local.state`,
    },
    v8Flags: Deno.args,
  });
  const pair = async (i: number) => {
    await runner.call("add", [attachment(`c${i}`)], 5000);
    await runner.call("del", [attachment(`c${i}`)], 5000);
  };
  for (let i = 0; i < WARM; i++) await pair(i);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const before = threads(runner.pid), t0 = performance.now();
  const loaded = [...before.values()].reduce((a, b) => a + b, 0);
  // Paced as a node's pods start: between them the runner sleeps, and V8 works on its own.
  for (let i = 0; i < PAIRS; i++) {
    await pair(1000 + i);
    await new Promise((r) => setTimeout(r, GAP_MS));
  }
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200));
  const after = threads(runner.pid);
  console.log(
    `V8 flags: ${
      Deno.args.join(" ") || "(the runner's defaults)"
    }; ${PAIRS} add + del pairs ${GAP_MS} ms apart after ${WARM} and ${IDLE_MS} ms idle, ${
      (wall / PAIRS - GAP_MS).toFixed(2)
    } ms each; load ${Deno.loadavg()[0]}`,
  );
  console.log(
    `${loaded.toFixed(1).padStart(7)} ms CPU to start, load and warm (${runner.loadMs} ms to load)`,
  );
  let total = 0;
  for (const [k, ms] of after) {
    const d = ms - (before.get(k) ?? 0);
    total += d;
    console.log(`${(d / PAIRS).toFixed(3).padStart(7)} ms CPU per pair  ${k}`);
  }
  console.log(`${(total / PAIRS).toFixed(3).padStart(7)} ms CPU per pair  total`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
