/**
 * Memory benchmark: what the control plane's controllers hold with 5,000 nodes (and their 5,000
 * heartbeat Leases) and 30,000 running pods (owned by 300 ReplicaSets) in their informers.
 *
 * Every measurement runs in its own child process (this file with `--measure MODE URL`, V8's
 * `gc()` exposed), against one API server child on a KV file loaded over HTTP beforehand:
 * - `map`: the baseline: the same LIST responses parsed into a plain `Map` (key → object), the
 *   least any cache of these parsed objects can hold; the JSON bytes are counted too;
 * - `informers`: Skiff informers for nodes, pods and leases (list + watch, synced);
 * - `manager`: the whole controller manager (every controller, shared informers, the garbage
 *   collector's monitors and indexes), once its informers have synced.
 * Figures are JS heap growth after a full GC, divided by the objects held (nodes + leases + pods +
 * ReplicaSets), and process RSS.
 *
 * Run alone: `deno run -A tests/bench/memory.ts`.
 * @module
 */
import { Client, R, type ResourceRef } from "../../control/api/client.ts";
import { InformerFactory } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { startControllerManager } from "../../control/controllers/manager.ts";
import { startControlPlane } from "../../control/mod.ts";
import {
  leaseObject,
  nodeIPFor,
  nodeObject,
  PodCidrAllocator,
  runningPodStatus,
} from "../../node/simulated/objects.ts";
import { type BenchRow, table } from "./bench_row.ts";

const NODES = 5_000;
const PODS = 30_000;
const REPLICASETS = 300;
const CONCURRENCY = 24;
const HELD: ResourceRef[] = [R.nodes, R.leases, R.pods, R.replicasets];

interface Measurement {
  heapBytes: number;
  rssBytes: number;
  objects: number;
  jsonBytes?: number;
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** The child: an API server on `kvPath` until SIGTERM. */
async function serveApi(kvPath: string): Promise<void> {
  const cp = await startControlPlane({ kvPath, port: 0, compactionIntervalMs: 0 });
  console.log(`URL ${cp.url}`);
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", () => resolve()));
  await cp.close().catch(() => {});
  Deno.exit(0);
}

/** Runs this file as a child with `args`; resolves to its first stdout line and a stop function. */
async function child(
  args: string[],
  flags: string[] = [],
): Promise<{ line: string; stop(): Promise<void>; status: Promise<Deno.CommandStatus> }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...flags, new URL(import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child ${args.join(" ")} exited without answering`);
    buf += value;
  }
  return {
    line: buf.split("\n")[0].trim(),
    status: proc.status,
    async stop() {
      try {
        proc.kill("SIGTERM");
      } catch { /* exited */ }
      await reader.cancel().catch(() => {});
      await proc.status;
    },
  };
}

/** Loads the cluster: ReplicaSets, nodes with leases, and running pods spread over the nodes. */
async function load(client: Client): Promise<void> {
  const cidrs = new PodCidrAllocator();
  const now = Date.now();
  const rsUids: string[] = [];
  await pool(REPLICASETS, CONCURRENCY, async (i) => {
    const labels = { app: `app-${i}` };
    const rs = await client.create(R.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `app-${i}`, namespace: "default", labels },
      spec: {
        replicas: PODS / REPLICASETS,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "app", image: "registry.example/app:1.0" }] },
        },
      },
    });
    rsUids[i] = rs.metadata.uid!;
  });
  const nodeCidrs = Array.from({ length: NODES }, () => cidrs.allocate());
  await pool(NODES, CONCURRENCY, async (i) => {
    const node = await client.create(
      R.nodes,
      nodeObject(`node-${i}`, nodeCidrs[i], nodeIPFor(i), { cpu: "32", memory: "256Gi", pods: 110 }, now),
    );
    await client.create(R.leases, leaseObject(node, now));
  });
  await pool(PODS, CONCURRENCY, async (i) => {
    const rs = i % REPLICASETS;
    const node = i % NODES;
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `app-${rs}-${i}`,
        namespace: "default",
        labels: { app: `app-${rs}` },
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `app-${rs}`,
          uid: rsUids[rs],
          controller: true,
          blockOwnerDeletion: true,
        }],
      },
      spec: {
        nodeName: `node-${node}`,
        containers: [{
          name: "app",
          image: "registry.example/app:1.0",
          ports: [{ name: "http", containerPort: 8080 }],
          resources: { requests: { cpu: "100m", memory: "128Mi" } },
        }],
      },
    };
    const created = await client.create(R.pods, pod);
    const [a, b, c] = nodeCidrs[node].split(".");
    const ip = `${a}.${b}.${c}.${2 + Math.floor(i / NODES)}`;
    await client.updateStatus(R.pods, {
      ...created,
      status: runningPodStatus(created, ip, nodeIPFor(node), now),
    });
  });
}

function gc() {
  // deno-lint-ignore no-explicit-any
  const g = (globalThis as any).gc as (() => void) | undefined;
  if (!g) throw new Error("run with --v8-flags=--expose-gc");
  for (let i = 0; i < 3; i++) g();
}

const settle = () => new Promise((r) => setTimeout(r, 200));

/** The child: one measurement. */
async function measure(mode: string, url: string): Promise<Measurement> {
  const client = new Client({ server: url });
  await settle();
  gc();
  const before = Deno.memoryUsage();
  let objects = 0;
  let jsonBytes = 0;
  let keep: unknown;
  let stop = async () => {};
  if (mode === "map") {
    const map = new Map<string, KubeObject>();
    for (const r of HELD) {
      let text: string | null = await (await client.request(
        "GET",
        `${r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`}/${r.plural}`,
      )).text();
      jsonBytes += new TextEncoder().encode(text).length;
      const list = JSON.parse(text) as { items: KubeObject[] };
      text = null;
      for (const o of list.items) map.set(`${r.plural}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
    }
    objects = map.size;
    keep = map;
  } else if (mode === "informers") {
    const f = new InformerFactory(client);
    const informers = HELD.map((r) => f.get(r));
    await f.start();
    objects = informers.reduce((n, i) => n + i.size, 0);
    keep = f;
    stop = () => f.stop();
  } else if (mode === "manager") {
    const ac = new AbortController();
    const m = startControllerManager({ client, signal: ac.signal, options: { leaderElect: false } });
    await m.ready;
    await new Promise((r) => setTimeout(r, 5_000)); // let start-up work (events, first syncs) drain
    objects = NODES * 2 + PODS + REPLICASETS;
    keep = m;
    stop = async () => {
      ac.abort();
      await m.done;
    };
  } else throw new Error(`unknown mode ${mode}`);
  await settle();
  gc();
  const after = Deno.memoryUsage();
  const out = { heapBytes: after.heapUsed - before.heapUsed, rssBytes: after.rss, objects, jsonBytes };
  if (!keep) throw new Error("nothing measured");
  await stop();
  return out;
}

const MiB = 1024 * 1024;

/** Runs the memory benchmark; resolves to its rows. */
export async function benchMemory(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-memory-" });
  const api = await child(["--serve-api", `${dir}/state.kv`]);
  try {
    const url = api.line.replace(/^URL /, "");
    const t = performance.now();
    await load(new Client({ server: url }));
    console.error(
      `memory bench: loaded ${NODES} nodes, ${NODES} leases, ${PODS} pods in ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s`,
    );
    const run = async (mode: string): Promise<Measurement> => {
      const c = await child(["--measure", mode, url], ["--v8-flags=--expose-gc"]);
      await c.status;
      return JSON.parse(c.line) as Measurement;
    };
    const map = await run("map");
    const informers = await run("informers");
    const manager = await run("manager");
    const per = (m: Measurement) => m.heapBytes / m.objects;
    const baseline = { name: "plain Map of the same parsed objects", value: per(map), unit: "bytes/object" };
    const held = `${NODES.toLocaleString("en-US")} nodes + leases, ${PODS.toLocaleString("en-US")} pods`;
    return [
      {
        name: `informer caches (${held}), heap per object`,
        value: per(informers),
        unit: "bytes/object",
        baseline,
        ratio: per(informers) / per(map),
        target: "≤ 1.2×",
        met: per(informers) / per(map) <= 1.2,
      },
      {
        name: `controller manager, all controllers (${held}), heap per object`,
        value: per(manager),
        unit: "bytes/object",
        baseline,
        ratio: per(manager) / per(map),
        target: "≤ 2×",
        met: per(manager) / per(map) <= 2,
      },
      {
        name: `controller manager process RSS (${held})`,
        value: manager.rssBytes / MiB,
        unit: "MiB",
        baseline: {
          name: "RSS of the process holding the plain Map",
          value: map.rssBytes / MiB,
          unit: "MiB",
        },
        ratio: manager.rssBytes / map.rssBytes,
      },
      {
        name: "the objects as JSON (LIST responses)",
        value: map.jsonBytes! / map.objects,
        unit: "bytes/object",
      },
    ];
  } finally {
    await api.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "--serve-api") await serveApi(Deno.args[1]);
  else if (Deno.args[0] === "--measure") {
    console.log(JSON.stringify(await measure(Deno.args[1], Deno.args[2])));
    Deno.exit(0);
  } else console.log(table(await benchMemory()));
}
