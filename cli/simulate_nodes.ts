/**
 * `./skiff simulate-nodes --server URL --kubeconfig PATH --count N`: registers N simulated nodes
 * (KWOK-style) that heartbeat, report the pods bound to them Running and Ready, and delete pods
 * being gracefully deleted, without running anything. Runs until SIGINT/SIGTERM; the nodes stay
 * registered (and go Unknown once they stop heartbeating).
 * @module
 */
import { NodeSimulator } from "../node/simulated/mod.ts";
import type { Command } from "./args.ts";
import { clientConfig, clientFor, shutdownSignal } from "./controller_manager.ts";
import { CliError } from "./errors.ts";

/** `./skiff simulate-nodes`. */
export const simulateNodesCommand: Command = {
  name: "simulate-nodes",
  summary: "Register simulated nodes that heartbeat and report pods Running without running them.",
  flags: [
    {
      name: "server",
      type: "string",
      value: "URL",
      description: "The API server URL (overrides the kubeconfig).",
    },
    {
      name: "kubeconfig",
      type: "string",
      value: "PATH",
      description: "A kubeconfig to read the server and token from.",
    },
    {
      name: "count",
      type: "number",
      value: "N",
      default: 1,
      max: 30_000,
      description: "How many nodes to simulate.",
    },
    {
      name: "ready-delay",
      type: "number",
      value: "MS",
      default: 0,
      description: "Delay before a bound pod is reported Running and Ready.",
    },
    {
      name: "name-prefix",
      type: "string",
      value: "P",
      default: "sim-",
      description: "Node names are the prefix followed by 0, 1, ...",
    },
    { name: "cpu", type: "string", value: "QTY", default: "32", description: "CPU capacity of each node." },
    {
      name: "memory",
      type: "string",
      value: "QTY",
      default: "256Gi",
      description: "Memory capacity of each node.",
    },
    {
      name: "max-pods",
      type: "number",
      value: "N",
      default: 110,
      max: 253,
      description: "Pod capacity of each node.",
    },
  ],
  args: "none",
  packages: [],
  async run({ flags, cwd }) {
    const cfg = await clientConfig(flags, cwd);
    const count = flags.count as number;
    if (count < 1) throw new CliError("--count must be at least 1", 2);
    const sim = new NodeSimulator(clientFor(cfg, "skiff-simulated-node"), {
      count,
      readyDelayMs: flags["ready-delay"] as number,
      namePrefix: flags["name-prefix"] as string,
      shape: { cpu: flags.cpu as string, memory: flags.memory as string, pods: flags["max-pods"] as number },
    });
    const { signal, dispose } = shutdownSignal();
    try {
      await sim.start();
      console.error(
        `simulate-nodes: ${count} nodes registered (${sim.names[0]} ... ${
          sim.names.at(-1)
        }) on ${cfg.server}`,
      );
      await new Promise<void>((r) =>
        signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })
      );
      return 0;
    } finally {
      dispose();
      await sim.stop();
    }
  },
};
