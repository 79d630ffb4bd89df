/**
 * The API server's connect subresources served through node agents. Register them on a server
 * with {@linkcode registerConnectHandlers}.
 *
 * @example
 * ```ts
 * const server = new ApiServer({ kv });
 * registerConnectHandlers(server);
 * ```
 * @module
 */
import type { ApiServer } from "../server.ts";
import { podLog } from "./pod_log.ts";

/** Adds `pods/log` (and, later, exec/attach/portforward) to `server.connect`. */
export function registerConnectHandlers(server: ApiServer): void {
  server.connect.set("pods/log", podLog);
}

export { podLog };
