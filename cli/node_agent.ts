/**
 * The hook `./skiff up` calls to start the node agent. This build has no node agent yet: the hook
 * says so in one line and starts nothing. The issue adding the agent fills it in: spawn it with
 * `ctx.supervisor.spawn({ name: "node", ..., logFile: `${ctx.dataDir}/logs/node.log` })` so it is
 * registered, and always killed with its process group.
 * @module
 */
import type { Supervisor } from "./supervisor.ts";

/** What the node agent is started with. */
export interface NodeAgentContext {
  supervisor: Supervisor;
  /** Absolute data dir of this `up`. */
  dataDir: string;
  /** The API server URL. */
  server: string;
  /** Absolute path of the admin kubeconfig. */
  kubeconfig: string;
  /** Prints one line to stderr. */
  log(line: string): void;
}

/** Starts the node agent of an all-in-one cluster. */
export function startNodeAgent(ctx: NodeAgentContext): Promise<void> {
  ctx.log(
    "skiff: the node agent is not available in this build yet; running the control plane only (--no-node)",
  );
  return Promise.resolve();
}
