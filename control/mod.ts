/**
 * The control plane: the API server on Deno KV, served with `Deno.serve` (HTTPS when given a
 * certificate), and optionally the scheduler and the controller manager, in-process but as API
 * clients like any other, each under its own identity (`system:kube-scheduler`,
 * `system:kube-controller-manager`).
 *
 * It uses only `Deno.serve`, `Deno.openKv` and timers (or `Deno.cron`), so it also runs on Deno
 * Deploy (see control/deploy.ts). Keys, certificates and tokens are passed in as options: the CLI
 * reads them from the data dir (cli/pki.ts), Deploy from environment variables.
 *
 * @example
 * ```ts
 * const cp = await startControlPlane({
 *   kvPath: "state.kv", port: 6443,
 *   tls: { cert, key },
 *   authentication: { signingKey: { privateKey: saKey }, tokens: { [adminToken]: ADMIN } },
 * });
 * ```
 * @module
 */
import { Client } from "./api/client.ts";
import { KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER } from "./apiserver/auth/users.ts";
import { ApiServer, type ApiServerOptions } from "./apiserver/server.ts";
import { startControllerManager } from "./controllers/manager.ts";
import type { ControllerManagerOptions } from "./controllers/manager.ts";
import { startScheduler, type WasmSchedulerPlugins } from "./scheduler/mod.ts";

export interface ControlPlaneOptions extends Omit<ApiServerOptions, "kv"> {
  /** Path of the KV file; omit on Deno Deploy (the attached database). */
  kvPath?: string;
  /** An already open KV (tests). */
  kv?: Deno.Kv;
  port: number;
  hostname?: string;
  /** Serve HTTPS with this certificate chain and key (PEM). Without it: plain HTTP. */
  tls?: { cert: string; key: string };
  /**
   * Also run the scheduler and the controller manager in this process (each behind its leader
   * election, talking to this API server through an in-process transport). Default false.
   */
  components?: boolean | ComponentOptions;
}

/** Options of the in-process components. */
export interface ComponentOptions {
  controllers?: ControllerManagerOptions;
  /** The scheduler calls the Wasm scheduler Plugins on this plugin host (`./skiff up`). */
  scheduler?: { wasmPlugins?: WasmSchedulerPlugins };
}

export interface ControlPlane {
  url: string;
  server: ApiServer;
  close(): Promise<void>;
}

/** Starts the scheduler and the controller manager against `server`; resolves when they stopped. */
export function startComponents(
  server: ApiServer,
  url: string,
  signal: AbortSignal,
  opts: ComponentOptions = {},
): Promise<void> {
  // In-process transports carrying each component's identity (upstream's loopback client).
  const client = (user: typeof KUBE_SCHEDULER, userAgent: string) =>
    new Client({ server: url, fetch: server.fetchAs(user, { remoteAddr: "127.0.0.1" }), userAgent });
  const identity = `skiff-${crypto.randomUUID().slice(0, 8)}`;
  const scheduler = startScheduler({
    client: client(KUBE_SCHEDULER, "skiff-scheduler"),
    signal,
    identity,
    wasmPlugins: opts.scheduler?.wasmPlugins,
  });
  const controllers = startControllerManager({
    client: client(KUBE_CONTROLLER_MANAGER, "skiff-controller-manager"),
    signal,
    identity,
    options: opts.controllers,
  });
  return Promise.allSettled([scheduler.done, controllers.done]).then(() => {});
}

/** Opens the store, starts the API server and listens. `port: 0` picks a free port. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const kv = opts.kv ?? await Deno.openKv(opts.kvPath);
  let server: ApiServer | undefined;
  let http: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = new ApiServer({ ...opts, kv });
    await server.start();
    const hostname = opts.hostname ?? "127.0.0.1";
    const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
    const serve = { port: opts.port, hostname, onListen: resolve, ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}) };
    http = Deno.serve(serve, server.fetch);
    await listening;
  } catch (e) {
    await server?.close();
    if (!opts.kv) kv.close();
    throw e;
  }
  const addr = http.addr;
  const url = `${opts.tls ? "https" : "http"}://${addr.hostname}:${addr.port}`;
  if (!opts.externalUrl) server!.externalUrl = url;
  const stop = new AbortController();
  const components = opts.components
    ? startComponents(server!, url, stop.signal, typeof opts.components === "object" ? opts.components : {})
    : Promise.resolve();
  return {
    url,
    server: server!,
    async close() {
      stop.abort();
      await components;
      // Closing the server first ends open watches; shutdown() would otherwise wait for them.
      await server!.close();
      await http.shutdown();
      if (!opts.kv) kv.close();
    },
  };
}

export { ApiServer };
