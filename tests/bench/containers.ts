/**
 * Container benchmarks (issue "OCI containers through crun"), `./skiff bench containers`:
 *
 * - container pod start-up with the image cached: create → Ready through the whole loop (API
 *   server, scheduler, binding, the agent's sync, sandbox, overlay rootfs, conmon + crun create and
 *   start, status write, the watch event), p50 and p99 over 50 pods created one after another,
 *   against a raw `crun run` of `/bin/true` in the same run (target p50 ≤ 3× raw; the Kubernetes
 *   SLO is 5 s); next to it, `crun run` with Skiff's config.json, with the seccomp profile
 *   compiled by crun and precompiled (as the agent hands it to every container after the first);
 *   and the CPU a start costs, per pod, by process (this process's control plane, the agent and
 *   the processes it waited for, its plugin runners, the conmon monitors; tests/bench/proc_cpu.ts);
 * - pull + unpack + start of a fresh small image (a busybox layer no other image shares);
 * - the rootfs: an overlay mount against the copy fallback, per container;
 * - density: 110 busybox pods (the Kubernetes per-node default) on the node, and the agent's own
 *   CPU and memory while they idle, then its plugin runners' (one process per loaded plugin),
 *   against the same node with one pod.
 *
 * The control plane and scheduler run in this process; the node agent runs as its own process
 * (`cli/node.ts`), so its CPU and memory are its own (its plugin runners and the conmon monitors
 * are separate processes and reported apart). With `SKIFF_TRACE_STARTUP=1` the agent and this
 * process print a timestamped line per start-up step (plugins/host/trace.ts). Needs root, crun, conmon, iproute2, docker-registry and busybox-static.
 *
 * Run alone: `deno run -A tests/bench/containers.ts`.
 * @module
 */
import { trace } from "../../plugins/host/trace.ts";
import { Client, R } from "../../control/api/client.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { registerConnectHandlers } from "../../control/apiserver/connect/mod.ts";
import { startControlPlane } from "../../control/mod.ts";
import { startScheduler } from "../../control/scheduler/mod.ts";
import { KUBE_SCHEDULER } from "../../control/apiserver/auth/users.ts";
import { copyRootfs, overlayMountCommand } from "../../node/cri/oci/rootfs.ts";
import { CRUN } from "../../node/cri/oci/crun.ts";
import { SECCOMP_BPF_ANNOTATION, SeccompBpfCache } from "../../node/cri/oci/seccomp_bpf.ts";
import { ociSpec } from "../../plugins/runtime/oci/spec.ts";
import { linuxContainerConfig } from "../../node/kubelet/linux_config.ts";
import { MountNamespace } from "../../node/mountns/mount_ns.ts";
import { ensureRuntimeClass } from "../../node/runtime_class.ts";
import { BUSYBOX, busyboxImage, busyboxRootfs, pushImage } from "../fixtures/oci/images.ts";
import { startRegistry } from "../registry.ts";
import { benchNodeReady, ReadyWatch, spawnBenchNode } from "./bench_node.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";
import { machineBusy, processCpu, treeCpu } from "./proc_cpu.ts";

/** Pods of the start-up figure (`SKIFF_BENCH_CTR_STARTUP` overrides, for quick runs). */
const STARTUP_PODS = Number(Deno.env.get("SKIFF_BENCH_CTR_STARTUP") ?? 50);
/** Pods of the density figure (`SKIFF_BENCH_CTR_DENSITY` overrides). */
const DENSITY_PODS = Number(Deno.env.get("SKIFF_BENCH_CTR_DENSITY") ?? 110);
/** Fresh images pulled for the pull + unpack + start figure. */
const FRESH_IMAGES = 3;
const CREATE_CONCURRENCY = 8;
const IDLE_WINDOW_MS = 30_000;
const CLOCK_TICKS = 100; // USER_HZ on Linux

function pod(name: string, image: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench", labels: { app: "bench" } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "httpd", image, ports: [{ containerPort: 8080 }] }],
    },
  };
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** PSS of one process, bytes. */
function pss(pid: number): number {
  try {
    return Number(Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`).match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0) *
      1024;
  } catch {
    return 0;
  }
}

/** PIDs of the conmon processes monitoring containers under `dataDir`. */
function conmons(dataDir: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (cmd[0].endsWith("conmon") && cmd.some((a) => a.startsWith(dataDir))) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** PIDs of the agent's mount-namespace spawner (node/mountns/spawner_main.ts), if it runs one. */
function spawners(agentPid: number): number[] {
  return childProcesses(agentPid, "node/mountns/spawner_main.ts");
}

/** PIDs of the agent's plugin runners (its child processes running plugins/host/runner.ts). */
function runners(agentPid: number): number[] {
  return childProcesses(agentPid, "plugins/host/runner.ts");
}

/** PIDs of `parentPid`'s children whose command line includes `marker`. */
function childProcesses(parentPid: number, marker: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== parentPid) continue;
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) {
        out.push(Number(e.name));
      }
    } catch { /* gone */ }
  }
  return out;
}

/** CPU use (% of one core) over `ms` of each of `pids` (a process gone meanwhile counts 0). */
async function idleCpu(pids: number[], ms: number): Promise<number[]> {
  const cpu = (pid: number) => {
    try {
      return cpuSeconds(pid);
    } catch {
      return NaN;
    }
  };
  const c0 = pids.map(cpu), t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const s = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => Math.max(0, ((cpu(pid) - c0[i]) / s) * 100) || 0);
}

const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);

function median(values: number[]): number {
  return percentile(values, 50);
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

/**
 * A bundle running `/bin/true` of a busybox rootfs, and the median wall time of `crun run` on it
 * inside a mount namespace like the agent's: with crun's own default config (`crun spec`, the
 * issue's raw baseline), or with the config.json Skiff writes for a container (secure defaults:
 * the seccomp profile, masked paths, cgroup limits), which isolates what orchestration adds.
 */
async function rawCrunRun(
  ns: MountNamespace,
  dir: string,
  runs: number,
  config: "crun" | "skiff" | "skiff-compiled",
  gapMs = 0,
): Promise<number> {
  const bundle = `${dir}/raw-bundle-${config}${gapMs ? `-every-${gapMs}ms` : ""}`;
  const rootfs = `${bundle}/rootfs`;
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc"]) {
    await Deno.mkdir(`${rootfs}/${d}`, { recursive: true });
  }
  await Deno.copyFile(BUSYBOX, `${rootfs}/bin/busybox`);
  await Deno.symlink("busybox", `${rootfs}/bin/true`);
  let spec;
  if (config === "crun") {
    await ns.run([CRUN, "spec"], { wd: bundle });
    spec = JSON.parse(await Deno.readTextFile(`${bundle}/config.json`));
    spec.process.terminal = false;
    spec.process.args = ["/bin/true"];
    spec.root = { path: rootfs, readonly: true };
  } else {
    spec = ociSpec({
      config: {
        metadata: { name: "raw", attempt: 0 },
        image: { image: "raw" },
        command: ["/bin/true"],
        args: [],
        workingDir: "",
        envs: [],
        mounts: [],
        labels: {},
        annotations: {},
        logPath: "raw.log",
        ports: [],
        resources: {},
        stdin: false,
        tty: false,
        linux: linuxContainerConfig({ spec: { containers: [{ name: "raw" }] } }, { name: "raw" }),
      },
      sandbox: { netnsPath: "", hostname: "raw", sysctls: {} },
      image: {},
      user: { uid: 0, gid: 0, additionalGids: [0] },
      rootfs,
      cgroupsPath: `/skiff/bench-raw-${Deno.pid}`,
      pidsLimit: 4096,
    });
    // A network namespace of its own (no pod sandbox here).
    spec.linux.namespaces = spec.linux.namespaces.map((n: { type: string }) =>
      n.type === "network" ? { type: "network" } : n
    );
  }
  await Deno.writeTextFile(`${bundle}/config.json`, JSON.stringify(spec));
  if (config === "skiff-compiled") {
    // As the agent does after its first container: crun's compiled filter, handed back to it.
    const id = `raw-compile-${Deno.pid}`;
    await ns.sh(`${CRUN} --root=${dir}/raw-crun create --bundle ${bundle} ${id} </dev/null >/dev/null 2>&1`);
    const filters = new SeccompBpfCache();
    await filters.learn(spec.linux.seccomp, `${dir}/raw-crun/${id}/seccomp.bpf`);
    await ns.run([CRUN, `--root=${dir}/raw-crun`, "delete", "-f", id]);
    const filter = filters.lookup(spec.linux.seccomp);
    if (!filter) throw new Error("crun left no compiled seccomp filter");
    spec.annotations = { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: filter };
    await Deno.writeTextFile(`${bundle}/config.json`, JSON.stringify(spec));
  }
  const times: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const argv = ns.argv([CRUN, `--root=${dir}/raw-crun`, "run", "--bundle", bundle, `raw-${config}-${i}`]);
    const t = performance.now();
    const st = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    })
      .output();
    const took = performance.now() - t;
    if (st.code !== 0) throw new Error(`crun run failed: ${new TextDecoder().decode(st.stderr)}`);
    if (i >= 3) times.push(took); // the first runs warm the caches
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  return median(times);
}

/** CPU seconds so far of the processes a pod start runs in (see {@linkcode startupCpuRows}). */
function startupCpu(agentPid: number, nodeDir: string) {
  return {
    bench: processCpu(Deno.pid),
    agent: processCpu(agentPid),
    agentOwn: processCpu(agentPid, false),
    runners: sum(runners(agentPid).map((p) => processCpu(p))),
    spawner: sum(spawners(agentPid).map((p) => processCpu(p))),
    spawnerOwn: sum(spawners(agentPid).map((p) => processCpu(p, false))),
    monitors: sum(conmons(nodeDir).map(treeCpu)),
    machine: machineBusy(),
  };
}

/**
 * CPU per pod start, by process, against the wall time: this process (API server, store,
 * scheduler, the bench's client and watch), the agent with the children it waited for
 * (`nsenter`, `ip`, and `crun start` or `unshare` where a fallback runs them), its plugin runners, and the conmon
 * monitors with theirs (`crun create`, the container); and the whole machine's busy time
 * (other sessions' work included).
 */
function startupCpuRows(
  a: ReturnType<typeof startupCpu>,
  b: ReturnType<typeof startupCpu>,
  pods: number,
  wallMs: number,
): BenchRow[] {
  const per = (k: keyof typeof a) => ((b[k] - a[k]) * 1000) / pods;
  const total = per("bench") + per("agent") + per("runners") + per("spawner") + per("monitors");
  const wall = wallMs / pods;
  const part = (name: string, k: keyof typeof a): BenchRow => ({ name: `  ${name}`, value: per(k), unit: "ms CPU" });
  return [
    {
      name: `CPU per pod start (create → Ready), the processes below, mean of ${pods}`,
      value: total,
      unit: "ms CPU",
      baseline: { name: "wall time per pod", value: wall, unit: "ms" },
      ratio: total / wall,
    },
    part("API server, store, scheduler and the bench's client (this process)", "bench"),
    part("node agent, with the processes it waited for (nsenter, ip; crun start only as a fallback)", "agent"),
    part("  of which the agent's own", "agentOwn"),
    part("plugin runners (crun, bridge, host-local, …)", "runners"),
    part("the mount namespace's spawner, with what it waited for (conmon's first process; crun start only as a fallback)", "spawner"),
    part("  of which the spawner's own", "spawnerOwn"),
    part("conmon monitors, with crun create and the containers", "monitors"),
    {
      name: "  the whole machine's busy CPU per pod (other sessions' work included)",
      value: per("machine"),
      unit: "ms CPU",
    },
  ];
}

/** Median ms of making one container rootfs both ways over the busybox layer. */
async function rootfsCost(
  ns: MountNamespace,
  layersDir: string,
  dir: string,
): Promise<{ overlay: number; copy: number }> {
  const layers = [...Deno.readDirSync(layersDir)].filter((e) => e.isDirectory && !e.name.startsWith("tmp-"));
  const layer = layers[0].name;
  const overlay: number[] = [], copy: number[] = [];
  for (let i = 0; i < 7; i++) {
    const b = `${dir}/rootfs-${i}`;
    for (const d of ["rootfs", "upper", "work", "copy"]) await Deno.mkdir(`${b}/${d}`, { recursive: true });
    let t = performance.now();
    await ns.sh(overlayMountCommand([layer], b), { wd: layersDir });
    overlay.push(performance.now() - t);
    await ns.sh(`umount '${b}/rootfs'`);
    t = performance.now();
    await copyRootfs([`${layersDir}/${layer}`], `${b}/copy`);
    copy.push(performance.now() - t);
    await Deno.remove(b, { recursive: true });
  }
  return { overlay: median(overlay), copy: median(copy) };
}

/** Runs the container benchmarks. */
export async function benchContainers(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-bench-ctr-" });
  // What the setup starts, undone in reverse when it fails part way (a missing registry binary,
  // crun refusing the raw runs); once the node runs, the run's own `finally` undoes it.
  await using setup = new AsyncDisposableStack();
  setup.defer(() => Deno.remove(dataDir, { recursive: true }).catch(() => {}));
  const cp = await startControlPlane({ kvPath: `${dataDir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  setup.defer(() => cp.close());
  registerConnectHandlers(cp.server);
  const client = new Client({ server: cp.url });
  const ac = new AbortController();
  // The scheduler reaches the API server in process, as `./skiff up`'s does (startComponents in
  // control/mod.ts): its transport carries its identity, with no loopback HTTP hop.
  const scheduler = startScheduler({
    client: new Client({
      server: cp.url,
      fetch: cp.server.fetchAs(KUBE_SCHEDULER, { remoteAddr: "127.0.0.1" }),
      userAgent: "skiff-scheduler",
    }),
    signal: ac.signal,
    leaderElection: false,
    initialBackoffMs: 100,
    maxBackoffMs: 500,
  });
  setup.defer(async () => {
    ac.abort();
    await scheduler.done;
  });
  const registry = await startRegistry();
  setup.defer(() => registry.close());
  await ensureRuntimeClass(client, "wasm");
  await ensureRuntimeClass(client, "oci");
  const bridge = `skcb${Deno.pid % 100000}`;
  const rawNs = await MountNamespace.open(`${dataDir}/raw-ns`);
  setup.defer(() => rawNs.close().catch(() => {}));
  // The raw baselines run before the node starts: its start (building and loading the built-in
  // plugins) would otherwise share the CPU with them and inflate the baseline.
  const raw = {
    name: "raw `crun run` of /bin/true (median of 30)",
    value: await rawCrunRun(rawNs, dataDir, 30, "crun"),
    unit: "ms",
  };
  // The same runs paced as the bench's pods start (one every ~100 ms): each then pays the kernel's
  // wait when crun moves its child into a cgroup v1 `cgroup.procs` after a quiet moment (an RCU
  // grace period, 10–20 ms here), which runs back to back skip (docs/benchmarks.md, "What
  // `crun create` waits for").
  const rawSpaced = {
    name: "raw `crun run` of /bin/true, one every 100 ms like the pods (median of 30)",
    value: await rawCrunRun(rawNs, dataDir, 30, "crun", 100),
    unit: "ms",
  };
  const rawSkiff = await rawCrunRun(rawNs, dataDir, 30, "skiff");
  const rawCompiled = await rawCrunRun(rawNs, dataDir, 30, "skiff-compiled");
  const agent = await spawnBenchNode({
    server: cp.url,
    dataDir: `${dataDir}/node`,
    bridge,
    mask: 23,
    maxPods: DENSITY_PODS + STARTUP_PODS + 20,
  });
  const started = setup.move(); // undone by the `finally` below, after the node
  let watch: ReadyWatch | undefined;
  try {
    await client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
    const image = (await pushImage(registry.host, "bench/busybox", "1", await busyboxImage())).reference;
    rows.push({ ...rawSpaced, baseline: raw, ratio: rawSpaced.value / raw.value });
    rows.push({
      name: "raw `crun run` of /bin/true with Skiff's config.json (seccomp, masks, cgroups; median of 30)",
      value: rawSkiff,
      unit: "ms",
      baseline: raw,
      ratio: rawSkiff / raw.value,
    });
    rows.push({
      name:
        "  the same, seccomp filter precompiled (`run.oci.seccomp_bpf_data`, as every container after the first)",
      value: rawCompiled,
      unit: "ms",
      baseline: raw,
      ratio: rawCompiled / raw.value,
    });
    const ready = watch = new ReadyWatch(client, "bench");
    await benchNodeReady(client);

    // Warm up: pull and unpack the image, first sandbox.
    await client.create(R.pods, pod("warm", image));
    await ready.ready("warm");
    await new Promise((r) => setTimeout(r, 3000)); // let the first pod's events settle
    const oneRunners = runners(agent.pid);
    const [onePodCpu, ...oneRunnersCpu] = await idleCpu([agent.pid, ...oneRunners], 10_000);
    const onePodPss = pss(agent.pid);
    const oneRunnersPss = sum(oneRunners.map(pss));

    // Start-up with the image cached: one pod after another, and the CPU its processes used.
    const cpuBefore = startupCpu(agent.pid, `${dataDir}/node`);
    const latencies: number[] = [];
    for (let i = 0; i < STARTUP_PODS; i++) {
      const name = `s-${i}`;
      const t0 = performance.now();
      trace("post>", name);
      await client.create(R.pods, pod(name, image));
      trace("post<", name);
      await ready.ready(name);
      trace("ready-seen", name);
      latencies.push(performance.now() - t0);
    }
    const cpuAfter = startupCpu(agent.pid, `${dataDir}/node`);
    const p50 = percentile(latencies, 50), p99 = percentile(latencies, 99);
    rows.push({
      name: `container pod create → Ready, image cached, p50 of ${STARTUP_PODS}`,
      value: p50,
      unit: "ms",
      baseline: raw,
      ratio: p50 / raw.value,
      target: "≤ 3× raw",
      met: p50 <= 3 * raw.value,
    });
    rows.push({
      name: `  the same p50, against the raw \`crun run\` paced like the pods`,
      value: p50,
      unit: "ms",
      baseline: rawSpaced,
      ratio: p50 / rawSpaced.value,
      // Not the issue's baseline (that is the back-to-back run above): shown for the kernel's share.
      target: "informational",
    });
    rows.push({
      name: `container pod create → Ready, image cached, p99 of ${STARTUP_PODS}`,
      value: p99,
      unit: "ms",
      baseline: raw,
      ratio: p99 / raw.value,
      target: "≤ 5 s (SLO)",
      met: p99 <= 5000,
    });

    rows.push(...startupCpuRows(cpuBefore, cpuAfter, STARTUP_PODS, sum(latencies)));

    // Pull + unpack + start of fresh images (a layer nothing on the node shares).
    const fresh: number[] = [];
    let layerBytes = 0;
    for (let i = 0; i < FRESH_IMAGES; i++) {
      const layer = [...await busyboxRootfs(), { path: "etc/bench-id", data: crypto.randomUUID() }];
      const pushed = await pushImage(
        registry.host,
        `bench/fresh-${i}`,
        "1",
        await busyboxImage({ layers: [layer] }),
      );
      const t0 = performance.now();
      await client.create(R.pods, pod(`fresh-${i}`, pushed.reference));
      await ready.ready(`fresh-${i}`);
      fresh.push(performance.now() - t0);
      layerBytes = layer.reduce(
        (n, e) => n + (typeof e.data === "string" ? e.data.length : e.data?.byteLength ?? 0),
        0,
      );
    }
    const freshMs = median(fresh);
    rows.push({
      name: `fresh image (${
        (layerBytes / 2 ** 20).toFixed(1)
      } MiB layer, gzip): pull + unpack + start → Ready (median of ${FRESH_IMAGES})`,
      value: freshMs,
      unit: "ms",
      baseline: raw,
      ratio: freshMs / raw.value,
    });

    // The rootfs: one overlay mount against the copy fallback.
    const cost = await rootfsCost(rawNs, `${dataDir}/node/images/layers`, dataDir);
    rows.push({
      name: "rootfs of a container: overlay mount (median of 7)",
      value: cost.overlay,
      unit: "ms",
    });
    rows.push({
      name: "rootfs of a container: copy fallback of the same image (median of 7)",
      value: cost.copy,
      unit: "ms",
      baseline: { name: "overlay mount", value: cost.overlay, unit: "ms" },
      ratio: cost.copy / cost.overlay,
    });

    // Density: fill up to DENSITY_PODS busybox pods.
    const have = 1 + STARTUP_PODS + FRESH_IMAGES;
    const names = Array.from({ length: Math.max(0, DENSITY_PODS - have) }, (_, i) => `d-${i}`);
    const t0 = performance.now();
    await pool(names, CREATE_CONCURRENCY, async (name) => {
      await client.create(R.pods, pod(name, image));
    });
    await Promise.all(names.map((n) => ready.ready(n, 10 * 60_000)));
    const fillSeconds = (performance.now() - t0) / 1000;
    const running = (await client.list(R.pods, "bench")).items.filter((p) =>
      p.status?.phase === "Running"
    ).length;
    rows.push({
      name: `busybox pods Running on one node (the last ${names.length} started in ${
        fillSeconds.toFixed(1)
      } s, ${CREATE_CONCURRENCY} at a time)`,
      value: running,
      unit: "pods",
      target: `≥ ${DENSITY_PODS}`,
      met: running >= DENSITY_PODS,
    });
    await new Promise((r) => setTimeout(r, 5000)); // let statuses and events settle
    const plugins = runners(agent.pid);
    const [cpu, ...runnersCpu] = await idleCpu([agent.pid, ...plugins], IDLE_WINDOW_MS);
    const agentPss = pss(agent.pid);
    const runnersPss = sum(plugins.map(pss));
    const monitors = conmons(`${dataDir}/node`);
    const monitorPss = monitors.reduce((n, p) => n + pss(p), 0);
    rows.push({
      name: `node agent CPU while ${running} pods idle (over ${IDLE_WINDOW_MS / 1000} s)`,
      value: cpu,
      unit: "% of a core",
      baseline: { name: "the same agent with 1 pod", value: onePodCpu, unit: "%" },
      ratio: onePodCpu > 0 ? cpu / onePodCpu : undefined,
    });
    rows.push({
      name: `node agent memory (its own PSS) with ${running} pods`,
      value: agentPss / 2 ** 20,
      unit: "MiB",
      baseline: { name: "the same agent with 1 pod", value: onePodPss / 2 ** 20, unit: "MiB" },
      ratio: agentPss / onePodPss,
    });
    rows.push({
      name: `  plugin runners (${plugins.length} processes: crun, bridge, host-local, local-path) CPU while idle`,
      value: sum(runnersCpu),
      unit: "% of a core",
      baseline: { name: "the same runners with 1 pod", value: sum(oneRunnersCpu), unit: "%" },
      ratio: sum(oneRunnersCpu) > 0 ? sum(runnersCpu) / sum(oneRunnersCpu) : undefined,
    });
    rows.push({
      name: "  plugin runners: PSS in total",
      value: runnersPss / 2 ** 20,
      unit: "MiB",
      baseline: { name: "the same runners with 1 pod", value: oneRunnersPss / 2 ** 20, unit: "MiB" },
      ratio: oneRunnersPss > 0 ? runnersPss / oneRunnersPss : undefined,
    });
    rows.push({
      name: `  conmon monitors: ${monitors.length} processes, PSS in total`,
      value: monitorPss / 2 ** 20,
      unit: "MiB",
    });
  } finally {
    await watch?.close(); // an open watch would keep the API server from shutting down
    try {
      agent.kill("SIGTERM"); // without --keep-pods: every container stopped, the network removed
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        agent.kill("SIGKILL");
      } catch { /* gone */ }
    }, 180_000);
    await agent.status;
    clearTimeout(timer);
    await started.disposeAsync();
  }
  return rows;
}

if (import.meta.main) console.log(table(await benchContainers()));
