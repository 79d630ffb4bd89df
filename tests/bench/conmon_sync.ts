/**
 * conmon's sync pipe against the pid-file polls (issue 5), by hand: the built-in `crun` Plugin in
 * a real runner with its node-side host, a real mount namespace and spawner (the rig of
 * node/cri/plugin/testing.ts), one sandbox, `rounds` pairs of `createContainer` (busybox,
 * `sleep 300`) alternated ABBA between `SKIFF_CONMON_SYNC_PIPE=1` and `=0` (read per conmon, so
 * one agent serves both). Per create: the wall time of `createContainer` (the Plugin's call,
 * then the wait that differs), the CPU of this process (the agent's side: host, waits, polls;
 * `process.cpuUsage`) and of the spawner (the sum of its threads' `schedstat`, ns). With
 * `SKIFF_TRACE_STARTUP=1` the trace lines (`conmon-returned`, `spawner-sync`, `created-by-sync`,
 * `pidfile-seen`) go to stderr.
 *
 * `deno run -A --unstable-kv --config deno.json tests/bench/conmon_sync.ts [rounds]` (root, crun,
 * conmon). The containers are removed with their sandbox at the end.
 * @module
 */
import { crunPluginHarness, witContainerConfig, witSandboxConfig } from "../../node/cri/plugin/testing.ts";
import { busyboxImage, pushImage } from "../fixtures/oci/images.ts";

const rounds = Number(Deno.args[0] ?? 40);
await using h = await crunPluginHarness();
const image = (await pushImage(h.registry.host, "ab/busybox", "1", await busyboxImage())).reference;
await h.host.pullImage({ image });
const cfg = witSandboxConfig(h.dir, "ab");
const container = (name: string) => witContainerConfig(name, image, ["sleep", "300"]);

/** The rig's spawner: the `spawner_main.ts` process whose parent is this one (nsenter exec'd into it). */
function spawnerPid(): number {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (!Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes("spawner_main.ts")) continue;
      const ppid = Number(/PPid:\t(\d+)/.exec(Deno.readTextFileSync(`/proc/${e.name}/status`))?.[1]);
      if (ppid === Deno.pid) return Number(e.name);
    } catch { /* gone */ }
  }
  throw new Error("no spawner");
}

/** CPU of every live thread of `pid`, ms (Deno's blocking-pool threads live 10 s when idle). */
function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
    } catch { /* gone */ }
  }
  return ns / 1e6;
}

const sb = await h.host.runPodSandbox(cfg, "oci") as string;
for (let i = 0; i < 4; i++) await h.host.createContainer(sb, container(`warm${i}`), cfg);
const sp = spawnerPid();
const res = { pipe: { wall: [] as number[], agent: 0, spawner: 0 }, polls: { wall: [] as number[], agent: 0, spawner: 0 } };
for (let i = 0; i < rounds; i++) {
  for (const mode of i % 2 ? ["polls", "pipe"] as const : ["pipe", "polls"] as const) {
    Deno.env.set("SKIFF_CONMON_SYNC_PIPE", mode === "pipe" ? "1" : "0");
    const u0 = process.cpuUsage();
    const s0 = threadsCpuMs(sp);
    const t0 = performance.now();
    await h.host.createContainer(sb, container(`${mode}${i}`), cfg);
    res[mode].wall.push(performance.now() - t0);
    const u = process.cpuUsage(u0);
    res[mode].agent += (u.user + u.system) / 1000;
    res[mode].spawner += threadsCpuMs(sp) - s0;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const at = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)].toFixed(2);
console.log(`load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}; ${rounds} creates each`);
for (const [mode, r] of Object.entries(res)) {
  console.log(
    `${mode}: createContainer p25/p50/p75 ${at(r.wall, 0.25)} / ${at(r.wall, 0.5)} / ${at(r.wall, 0.75)} ms; ` +
      `CPU per create: agent ${(r.agent / rounds).toFixed(2)} ms, spawner ${(r.spawner / rounds).toFixed(2)} ms`,
  );
}
await h.host.removePodSandbox(sb);
