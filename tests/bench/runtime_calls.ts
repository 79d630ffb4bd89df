/**
 * The runtime Plugin's calls on a container pod's start, without crun (issue 5): the built-in
 * `crun` plugin in a real runner process, its host calls answered at once by this process
 * (`node-config`, `resolve-image`, `prepare-bundle`, conmon's `exec`, `write-exec-fifo`), so
 * what is measured is the pipe, the runner and the guest. Per pod, as a node makes them:
 * `run-pod-sandbox`, again with the IP, `create-container`, `start-container`; 54 pods, then
 * every sandbox removed, for `ROUNDS` rounds. The raw baseline, same run: a line echoed by a
 * `deno` child over the same kind of pipes (one round trip, no guest). Prints wall time per call
 * (median, p90) and the runner's CPU per pod (`/proc/<pid>/stat`).
 *
 * `deno run -A tests/bench/runtime_calls.ts [rounds]`; with `SKIFF_TRACE_STARTUP=1` the runner's
 * trace lines go to stderr (tests/bench/trace_summary.ts splits the calls).
 * @module
 */
import type { PluginObject } from "../../control/api/plugins.ts";
import { buildPlugin } from "../../plugins/host/build.ts";
import { hostCallHandler } from "../../plugins/host/host_calls.ts";
import { PluginCache } from "../../plugins/host/prepare.ts";
import { Runner } from "../../plugins/host/runner_client.ts";
import { CRUN_GRANTS } from "../../node/cri/plugin/runtime_host.ts";
import { percentile } from "./bench_row.ts";

const ROUNDS = Number(Deno.args[0] ?? 4);
const PODS = 54;
const SOURCE = Deno.env.get("SKIFF_BENCH_CRUN_SOURCE") ||
  new URL("../../plugins/runtime/builtin/crun/plugin.ts", import.meta.url).pathname;

// Built first: a failed build leaves no temp dir behind.
const { bytes } = await buildPlugin({ kind: "runtime", source: SOURCE });
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-runtime-calls-" });
const IMAGE_CONFIG = JSON.stringify({
  Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  Cmd: ["sh"],
  WorkingDir: "/",
});
const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n";
const GROUP = "root:x:0:\nnobody:x:65534:\n";
const enc = new TextEncoder();

const plugin: PluginObject = {
  apiVersion: "skiff.dev/v1alpha1",
  kind: "Plugin",
  metadata: { name: "crun" },
  spec: { kind: "runtime", image: "builtin:crun", grants: CRUN_GRANTS },
};
const ok = () => ({ exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array() });
const handler = hostCallHandler(plugin, {
  "host-process": () => ({ exec: () => ok() }),
}, {
  "node-images": {
    "node-config": () =>
      JSON.stringify({ root: `${dir}/oci`, cgroupParent: "/skiff", pidsLimit: 4096, swapAccounting: false }),
    "resolve-image": () => ({
      id: "sha256:" + "a".repeat(64),
      ref: "127.0.0.1:5000/busybox@sha256:" + "b".repeat(64),
      config: IMAGE_CONFIG,
      passwd: PASSWD,
      group: GROUP,
    }),
    "prepare-bundle": ([id, , config]) => (enc.encode(String(config)), `${dir}/oci/containers/${id}`),
    "remove-bundle": () => undefined,
    "write-exec-fifo": () => true,
  },
});

function sandboxConfig(i: number, round: number, ip?: string) {
  const uid = crypto.randomUUID();
  return {
    metadata: { name: `pod-${round}-${i}`, uid, namespace: "default", attempt: 0 },
    hostname: `pod-${round}-${i}`,
    logDirectory: `/var/log/pods/default_pod-${round}-${i}_${uid}`,
    labels: [{ key: "app", value: "bench" }, { key: "io.kubernetes.pod.name", value: `pod-${round}-${i}` }],
    annotations: [],
    netns: `/var/run/netns/skiff-${uid.slice(0, 8)}`,
    ip,
    podDir: `${dir}/pods/${uid}`,
    linux: JSON.stringify({
      cgroupParent: `/skiff/pod${uid}`,
      securityContext: { namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD" } },
      sysctls: {},
    }),
  };
}

function containerConfig(i: number) {
  return {
    name: "c",
    attempt: 0,
    image: "127.0.0.1:5000/busybox:latest",
    command: ["sleep"],
    args: ["3600"],
    workingDir: "",
    envs: [{ key: "KUBERNETES_SERVICE_HOST", value: "198.19.0.1" }, {
      key: "KUBERNETES_SERVICE_PORT",
      value: "443",
    }, { key: "POD", value: `pod-${i}` }],
    mounts: [{
      containerPath: "/dev/termination-log",
      hostPath: `${dir}/pods/${i}/containers/c/0`,
      readonly: false,
    }],
    labels: [{ key: "io.kubernetes.container.name", value: "c" }],
    annotations: [{ key: "io.kubernetes.container.restartCount", value: "0" }],
    logPath: "c/0.log",
    linux: JSON.stringify({
      resources: { cpuPeriod: 100000, cpuQuota: 0, cpuShares: 2, memoryLimitInBytes: 0, oomScoreAdj: 1000 },
      securityContext: {
        namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD" },
        seccomp: { profileType: "RuntimeDefault" },
      },
    }),
    stdin: false,
    stdinOnce: false,
    tty: false,
  };
}

const cpuOf = (pid: number) => {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // ms (USER_HZ 100)
};

/** The raw baseline: one line to a child and back. */
async function echoRoundTrips(n: number): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const b = new Uint8Array(65536); for (;;) { const n = Deno.stdin.readSync(b); if (!n) break; Deno.stdout.writeSync(b.subarray(0, n)); }`,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  const r = child.stdout.getReader();
  const line = enc.encode(
    JSON.stringify({ id: 1, op: "startContainer", args: ["0123abcd-c-0-0123abcd"] }) + "\n",
  );
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await w.write(line);
    let got = 0;
    while (got < line.length) got += (await r.read()).value!.length;
    out.push(performance.now() - t);
  }
  await w.close();
  await r.cancel();
  await child.status;
  return out;
}

using cache = new PluginCache(`${dir}/plugins`);
const component = await cache.prepare("runtime", bytes);
await Deno.mkdir(`${dir}/state`);
const runner = await Runner.start({
  config: {
    plugin: "crun",
    kind: "runtime",
    component,
    settings: "{}",
    grants: CRUN_GRANTS,
    memoryBytes: 64 << 20,
    stateFile: `${dir}/state/crun.json`,
  },
  onHostCall: handler,
  v8Flags: (Deno.env.get("SKIFF_BENCH_RUNNER_V8_FLAGS") ?? "").split(" ").filter(Boolean),
  onLog: (level, message) => console.error(`crun ${level}: ${message}`),
});
const times: Record<string, number[]> = {
  runPodSandbox: [],
  "runPodSandbox (IP)": [],
  createContainer: [],
  startContainer: [],
};
const raw: number[] = [];
/** The first round's times: a young runner's, as in the containers benchmark (its first ~55 pods). */
const first: Record<string, number[]> = {};
let round = 0;
let cpu = 0;
try {
  const timed = async (name: string, op: string, args: unknown[]) => {
    const t = performance.now();
    const v = await runner.call(op, args, 30_000);
    times[name].push(performance.now() - t);
    if (round === 0) (first[name] ??= []).push(performance.now() - t);
    return v as { id: string };
  };
  for (; round < ROUNDS; round++) {
    raw.push(...await echoRoundTrips(PODS));
    const before = cpuOf(runner.pid);
    const sandboxes: string[] = [];
    for (let i = 0; i < PODS; i++) {
      const sc = sandboxConfig(i, round);
      const s = await timed("runPodSandbox", "runPodSandbox", [sc, ""]);
      sandboxes.push(s.id);
      const c = await timed("createContainer", "createContainer", [s.id, containerConfig(i), sc]);
      await timed("runPodSandbox (IP)", "runPodSandbox", [{ ...sc, ip: `198.18.0.${i + 2}` }, ""]);
      await timed("startContainer", "startContainer", [c.id]);
      await new Promise((r) => setTimeout(r, 5));
    }
    cpu += cpuOf(runner.pid) - before;
    for (const id of sandboxes) await runner.call("removePodSandbox", [id], 30_000);
  }
} finally {
  await runner.stop(1000);
  await Deno.remove(dir, { recursive: true });
}
const load = Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
const f = (xs: number[]) => `${percentile(xs, 50).toFixed(3)} / ${percentile(xs, 90).toFixed(3)}`;
console.log(`runtime Plugin calls, ${ROUNDS}×${PODS} pods, load ${load}`);
console.log(
  `| call | p50 / p90 ms, all rounds | ratio of p50 to raw | p50 / p90 ms, first round (a young runner) |`,
);
console.log(`|---|---|---|---|`);
console.log(`| raw: a line echoed by a child (baseline) | ${f(raw)} | 1 | |`);
for (const [k, xs] of Object.entries(times)) {
  console.log(
    `| ${k} | ${f(xs)} | ${(percentile(xs, 50) / percentile(raw, 50)).toFixed(2)}× | ${f(first[k])} |`,
  );
}
console.log(`runner CPU per pod: ${(cpu / (ROUNDS * PODS)).toFixed(2)} ms (10 ms ticks)`);
