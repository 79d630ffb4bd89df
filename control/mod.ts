/**
 * The control plane: the API server on Deno KV, served with `Deno.serve`.
 *
 * It uses only `Deno.serve`, `Deno.openKv` and timers (or `Deno.cron`), so it also runs on Deno
 * Deploy (see control/deploy.ts).
 * @module
 */
import { ApiServer, type ApiServerOptions } from "./apiserver/server.ts";

export interface ControlPlaneOptions extends Omit<ApiServerOptions, "kv"> {
  /** Path of the KV file; omit on Deno Deploy (the attached database). */
  kvPath?: string;
  /** An already open KV (tests). */
  kv?: Deno.Kv;
  port: number;
  hostname?: string;
}

export interface ControlPlane {
  url: string;
  server: ApiServer;
  close(): Promise<void>;
}

/** Opens the store, starts the API server and listens. `port: 0` picks a free port. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const kv = opts.kv ?? await Deno.openKv(opts.kvPath);
  const server = new ApiServer({ ...opts, kv });
  await server.start();
  const hostname = opts.hostname ?? "127.0.0.1";
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const http = Deno.serve({ port: opts.port, hostname, onListen: resolve }, server.fetch);
  const addr = await listening;
  const url = `http://${addr.hostname}:${addr.port}`;
  return {
    url,
    server,
    async close() {
      await http.shutdown();
      await server.close();
      if (!opts.kv) kv.close();
    },
  };
}

export { ApiServer };
