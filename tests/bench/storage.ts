/**
 * Storage benchmarks (issue 8), `./skiff bench storage`:
 *
 * - a pod with a new PersistentVolumeClaim of the default `local-path` class, create → Running:
 *   admission, the binder, the scheduler's VolumeBinding and selected-node annotation, the node's
 *   provisioner, the PV, binding, publishing and the container start — against the same pod with
 *   an emptyDir, in the same run (p50 over a few pods each, created one after another);
 * - publish + unpublish of one volume through the built-in `local-path` Wasm plugin's node verbs
 *   (a runner process; the bind mount and unmount are nested host calls the host performs),
 *   against a direct bind mount + unmount by this process (the same syscalls, no plugin), in the
 *   same run.
 *
 * The control plane, scheduler, controllers and node agent run in this process. Needs root,
 * crun, docker-registry and busybox-static. Run alone: `deno run -A tests/bench/storage.ts`.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import { ensureLocalPathStorage } from "../../control/api/storage.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { startControllerManager } from "../../control/controllers/manager.ts";
import { startControlPlane } from "../../control/mod.ts";
import { startScheduler } from "../../control/scheduler/mod.ts";
import { freeRange } from "../../node/cri/oci/testing.ts";
import { ensureRuntimeClass, nodeRuntime, startNodeAgent } from "../../node/mod.ts";
import { storageImpl } from "../../node/hostcaps/storage_conformance.ts";
import { bindMount, unmount } from "../../node/mountns/libc.ts";
import { buildPlugin } from "../../plugins/host/build.ts";
import { unwrapStorage } from "../../plugins/storage/binding.ts";
import { busyboxImage, pushImage } from "../fixtures/oci/images.ts";
import { startRegistry } from "../registry.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

const PODS = Number(Deno.env.get("SKIFF_BENCH_STORAGE_PODS") ?? 5);
const PUBLISHES = Number(Deno.env.get("SKIFF_BENCH_STORAGE_PUBLISHES") ?? 200);

function pod(name: string, image: string, volume: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{
        name: "c",
        image,
        command: ["sh", "-c", "exec sleep 3600"],
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      }],
      volumes: [{ name: "data", ...volume }],
    },
  };
}

async function until(client: Client, name: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const p = await client.tryGet(R.pods, "default", name);
    if (p?.status?.phase === "Running") return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`pod ${name} did not run within ${timeoutMs} ms`);
}

async function podStartups(client: Client, image: string, kind: "pvc" | "emptydir"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < PODS; i++) {
    const name = `${kind}-${i}`;
    const t0 = performance.now();
    if (kind === "pvc") {
      await client.create(R.persistentvolumeclaims, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name, namespace: "default" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } },
      });
      await client.create(R.pods, pod(name, image, { persistentVolumeClaim: { claimName: name } }));
    } else {
      await client.create(R.pods, pod(name, image, { emptyDir: {} }));
    }
    await until(client, name);
    out.push(performance.now() - t0);
  }
  return out;
}

async function publishLatency(): Promise<{ driver: number; bind: number }> {
  const source = new URL("../../plugins/storage/builtin/local_path/plugin.ts", import.meta.url).pathname;
  const bytes = (await buildPlugin({ kind: "storage", source })).bytes;
  await using p = await storageImpl(() => Promise.resolve(bytes))();
  const call = async (op: string, ...args: unknown[]) => unwrapStorage(await p.call(op, ...args));
  const v = await call("createVolume", "pvc-bench", 1 << 20, [], []) as {
    volumeId: string;
    volumeContext: [string, string][];
  };
  const cap = { accessType: "mount", fsType: "", mountFlags: [], accessMode: "single-node-writer" };
  const target = `${p.volumeRoot}/pods/bench/volumes/kubernetes.io~csi/data/mount`;
  // Warm: the first calls compile paths in the runner and the host.
  for (let i = 0; i < 5; i++) {
    await call("nodePublishVolume", v.volumeId, undefined, target, cap, false, v.volumeContext);
    await call("nodeUnpublishVolume", v.volumeId, target);
  }
  let t0 = performance.now();
  for (let i = 0; i < PUBLISHES; i++) {
    await call("nodePublishVolume", v.volumeId, undefined, target, cap, false, v.volumeContext);
    await call("nodeUnpublishVolume", v.volumeId, target);
  }
  const perDriver = (performance.now() - t0) / PUBLISHES;
  const bindTarget = `${p.volumeRoot}/bind-target`;
  await Deno.mkdir(bindTarget);
  t0 = performance.now();
  for (let i = 0; i < PUBLISHES; i++) {
    bindMount(v.volumeId, bindTarget, false);
    unmount(bindTarget);
  }
  return { driver: perDriver, bind: (performance.now() - t0) / PUBLISHES };
}

/** The storage group. */
export async function benchStorage(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-storage-" });
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  const client = new Client({ server: cp.url });
  const ac = new AbortController();
  const scheduler = startScheduler({
    client,
    signal: ac.signal,
    leaderElection: false,
    initialBackoffMs: 100,
    maxBackoffMs: 500,
  });
  const manager = startControllerManager({ client, signal: ac.signal, options: { leaderElect: false } });
  const registry = await startRegistry();
  let agent: Awaited<ReturnType<typeof startNodeAgent>> | undefined;
  try {
    await ensureRuntimeClass(client, "wasm");
    await ensureRuntimeClass(client, "oci");
    await ensureLocalPathStorage(client);
    const image = (await pushImage(registry.host, "bench/busybox", "1", await busyboxImage())).reference;
    agent = await startNodeAgent({
      podCIDR: await freeRange(),
      server: cp.url,
      name: "bench-node",
      dataDir: `${dir}/node`,
      port: 0,
      bridge: `skbs${Deno.pid % 10000}`,
      leaseIntervalMs: 2000,
      runtime: nodeRuntime({}),
    });
    // Warm the image cache and the runtime once.
    await client.create(R.pods, pod("warm", image, { emptyDir: {} }));
    await until(client, "warm");
    const emptyDir = await podStartups(client, image, "emptydir");
    const pvc = await podStartups(client, image, "pvc");
    const publish = await publishLatency();
    const p50 = (xs: number[]) => percentile(xs, 50);
    return [
      {
        name: `pod start with a new PVC (provision + bind + publish), p50 of ${PODS}`,
        value: p50(pvc),
        unit: "ms",
        baseline: { name: "same pod with an emptyDir", value: p50(emptyDir), unit: "ms" },
        ratio: p50(pvc) / p50(emptyDir),
      },
      {
        name: `publish + unpublish of one volume (local-path Wasm plugin), mean of ${PUBLISHES}`,
        value: publish.driver,
        unit: "ms",
        baseline: {
          name: "direct bind mount + unmount (same syscalls, no plugin)",
          value: publish.bind,
          unit: "ms",
        },
        ratio: publish.driver / publish.bind,
      },
    ];
  } finally {
    await agent?.stop();
    ac.abort();
    await Promise.all([scheduler.done, manager.done]);
    await registry.close();
    await cp.close();
    client.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.log(table(await benchStorage()));
