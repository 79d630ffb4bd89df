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
import { podAttach, podExec } from "./exec.ts";
import { podLog } from "./pod_log.ts";
import { podPortForward } from "./portforward.ts";

/** Adds `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward` to `server.connect`. */
export function registerConnectHandlers(server: ApiServer): void {
  server.connect.set("pods/log", podLog);
  server.connect.set("pods/exec", podExec);
  server.connect.set("pods/attach", podAttach);
  server.connect.set("pods/portforward", podPortForward);
}

export { podAttach, podExec, podLog, podPortForward };
