/**
 * The control-plane half of the node-level test clusters (node, containers, networking,
 * storage): an in-process API server with the node connect handlers (logs, exec, port-forward)
 * and the runtime probe check, a kubeconfig and an admin client, the scheduler with short
 * back-offs, the controller manager and a test registry. Each suite adds its node agents.
 * @module
 */
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { Client } from "../control/api/client.ts";
import { runtimeProbes } from "../control/apiserver/admission/probes.ts";
import { registerConnectHandlers } from "../control/apiserver/connect/mod.ts";
import { type ControllerManagerOptions, startControllerManager } from "../control/controllers/manager.ts";
import { startControlPlane } from "../control/mod.ts";
import { startScheduler } from "../control/scheduler/mod.ts";
import { startRegistry, type TestRegistry } from "./registry.ts";

export interface TestControlPlane {
  /** A fresh temporary directory: state.kv, kubeconfig; the suite puts its node there too. */
  dataDir: string;
  url: string;
  kubeconfig: string;
  client: Client;
  registry: TestRegistry;
  /**
   * Stops the scheduler and the controllers, the registry and the API server, and removes the
   * data dir (stop the node agents first). Idempotent.
   */
  close(): Promise<void>;
}

/** Starts it in a new temporary directory named after `prefix`. */
export async function startTestControlPlane(
  prefix: string,
  controllers: Omit<ControllerManagerOptions, "leaderElect"> = {},
): Promise<TestControlPlane> {
  const dataDir = await Deno.makeTempDir({ prefix });
  const cp = await startControlPlane({
    kvPath: `${dataDir}/state.kv`,
    port: 0,
    compactionIntervalMs: 0,
    admission: [runtimeProbes()],
  });
  registerConnectHandlers(cp.server);
  const kubeconfig = `${dataDir}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const client = new Client({ server: cp.url });
  const ac = new AbortController();
  const scheduler = startScheduler({
    client,
    signal: ac.signal,
    leaderElection: false,
    initialBackoffMs: 100,
    maxBackoffMs: 500,
  });
  const manager = startControllerManager({
    client,
    signal: ac.signal,
    options: { ...controllers, leaderElect: false } as ControllerManagerOptions,
  });
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      ac.abort();
      await Promise.all([scheduler.done, manager.done]);
      await registry?.close();
      await cp.close();
      client.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    })();
  let registry: TestRegistry | undefined;
  try {
    registry = await startRegistry();
  } catch (e) {
    await close();
    throw e;
  }
  return { dataDir, url: cp.url, kubeconfig, client, registry, close };
}
