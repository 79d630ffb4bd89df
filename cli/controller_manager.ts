/**
 * `./skiff controller-manager --server URL --kubeconfig PATH`: the controller manager as its own
 * process (several replicas elect one leader through the `kube-system/kube-controller-manager`
 * Lease). Stops cleanly, releasing the lease, on SIGINT/SIGTERM.
 *
 * Also the client configuration shared by commands that talk to an API server: `--server` wins
 * over the kubeconfig's current context; the kubeconfig's bearer token and CA
 * (`certificate-authority-data`, or the `certificate-authority` file) are used when present.
 * @module
 */
import { parse } from "yaml";
import { Client } from "../control/api/client.ts";
import { CONTROLLERS, startControllerManager, unknownControllers } from "../control/controllers/manager.ts";
import type { Command, Flags } from "./args.ts";
import { CONNECTION_FLAGS, LEADER_ELECTION_FLAGS } from "./component_flags.ts";
import { CliError } from "./errors.ts";

/** Parses a Go duration (`15s`, `500ms`, `1m30s`, `2h`) into ms. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    matched += m[0].length;
  }
  if (!text || matched !== text.length) {
    if (text === "0") return 0;
    throw new CliError(`invalid duration "${text}" (use e.g. 15s, 500ms, 1m)`, 2);
  }
  return total;
}

/** What a command needs to reach the API server. */
export interface ClientConfig {
  server: string;
  token?: string;
  /** The CA (PEM) of the server's certificate (`certificate-authority-data` or `certificate-authority`). */
  caCert?: string;
}

function decodeBase64(data: string, what: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(data.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
  } catch {
    throw new CliError(`the kubeconfig's ${what} is not valid base64`);
  }
}

/**
 * Reads `server`, `token` and the CA from a kubeconfig document (its current context). Pure,
 * except that a `certificate-authority` or `tokenFile` path is read by {@linkcode clientConfig}.
 */
export function fromKubeconfig(doc: unknown): ClientConfig {
  // deno-lint-ignore no-explicit-any
  const cfg = doc as any;
  const ctxName = cfg?.["current-context"];
  const ctx = (cfg?.contexts ?? []).find((c: { name: string }) => c.name === ctxName)?.context;
  if (!ctx) throw new CliError(`the kubeconfig has no current context${ctxName ? ` "${ctxName}"` : ""}`);
  const cluster = (cfg.clusters ?? []).find((c: { name: string }) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new CliError(`the kubeconfig's cluster "${ctx.cluster}" has no server`);
  const user = (cfg.users ?? []).find((u: { name: string }) => u.name === ctx.user)?.user ?? {};
  const ca = cluster["certificate-authority-data"];
  return {
    server: cluster.server,
    ...(user.token ? { token: user.token } : {}),
    ...(typeof ca === "string" && ca ? { caCert: decodeBase64(ca, "certificate-authority-data") } : {}),
  };
}

/** The file paths a kubeconfig's current context names (`certificate-authority`, `tokenFile`). Pure. */
function kubeconfigFiles(doc: unknown): { ca?: string; tokenFile?: string } {
  // deno-lint-ignore no-explicit-any
  const cfg = doc as any;
  const ctx = (cfg?.contexts ?? []).find((c: { name: string }) => c.name === cfg?.["current-context"])?.context;
  const cluster = (cfg?.clusters ?? []).find((c: { name: string }) => c.name === ctx?.cluster)?.cluster ?? {};
  const user = (cfg?.users ?? []).find((u: { name: string }) => u.name === ctx?.user)?.user ?? {};
  return { ca: cluster["certificate-authority"], tokenFile: user.tokenFile };
}

/** The client configuration from `--server` and `--kubeconfig` (one of them is required). */
export async function clientConfig(flags: Flags, cwd: string): Promise<ClientConfig> {
  const server = flags.server as string | undefined;
  const path = flags.kubeconfig as string | undefined;
  let cfg: ClientConfig | undefined;
  if (path) {
    const full = path.startsWith("/") ? path : `${cwd}/${path}`;
    let text: string;
    try {
      text = await Deno.readTextFile(full);
    } catch (e) {
      throw new CliError(`cannot read the kubeconfig ${full}: ${(e as Error).message}`);
    }
    const doc = parse(text);
    cfg = fromKubeconfig(doc);
    const files = kubeconfigFiles(doc);
    const dir = full.slice(0, full.lastIndexOf("/") + 1);
    const read = async (p: string, what: string) => {
      const abs = p.startsWith("/") ? p : dir + p;
      try {
        return await Deno.readTextFile(abs);
      } catch (e) {
        throw new CliError(`cannot read the kubeconfig's ${what} ${abs}: ${(e as Error).message}`);
      }
    };
    if (!cfg.caCert && files.ca) cfg.caCert = await read(files.ca, "certificate-authority");
    if (!cfg.token && files.tokenFile) cfg.token = (await read(files.tokenFile, "tokenFile")).trim();
  }
  if (server) return { ...cfg, server };
  if (!cfg) throw new CliError("give --server URL or --kubeconfig PATH", 2);
  return cfg;
}

/** A client for a command, identified as `userAgent`, trusting the kubeconfig's CA. Close it when done. */
export function clientFor(cfg: ClientConfig, userAgent: string): Client {
  return new Client({ server: cfg.server, token: cfg.token, caCerts: cfg.caCert ? [cfg.caCert] : undefined, userAgent });
}

/** Aborts on SIGINT or SIGTERM; returns the signal and a function removing the listeners. */
export function shutdownSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  return { signal: ac.signal, dispose: () => signals.forEach((s) => Deno.removeSignalListener(s, stop)) };
}

const duration = (flags: Flags, name: string): number | undefined =>
  flags[name] === undefined ? undefined : parseDuration(String(flags[name]));

/** `./skiff controller-manager`. */
export const controllerManagerCommand: Command = {
  name: "controller-manager",
  summary:
    "Run the controllers (garbage collector, namespaces, nodes, endpoints, workloads) against an API server.",
  description:
    "Runs every controller behind one leader election, so several replicas can run for availability.",
  flags: [
    ...CONNECTION_FLAGS,
    {
      name: "controllers",
      type: "string",
      value: "LIST",
      default: "*",
      description: "Controllers to run: * for all, name to add, -name to drop.",
    },
    ...LEADER_ELECTION_FLAGS,
    {
      name: "node-monitor-grace-period",
      type: "string",
      value: "DURATION",
      default: "50s",
      description: "How long a node may be silent before it is marked Unknown.",
    },
    {
      name: "node-monitor-period",
      type: "string",
      value: "DURATION",
      default: "5s",
      description: "How often node health is checked.",
    },
    {
      name: "node-eviction-rate",
      type: "string",
      value: "QPS",
      default: "0.1",
      description: "Nodes per second per zone whose pods may be evicted.",
    },
    {
      name: "terminated-pod-gc-threshold",
      type: "number",
      value: "N",
      default: 12500,
      description: "Terminated pods kept before the oldest are deleted (0: never).",
    },
  ],
  args: "none",
  packages: [],
  async run({ flags, cwd }) {
    const controllers = String(flags.controllers).split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = unknownControllers(CONTROLLERS.map((c) => c.name), controllers);
    if (unknown.length) {
      throw new CliError(
        `--controllers: ${unknown.map((n) => `"${n}"`).join(", ")} is not in the list of known controllers ` +
          `(${CONTROLLERS.map((c) => c.name).join(", ")})`,
        2,
      );
    }
    const cfg = await clientConfig(flags, cwd);
    const client = clientFor(cfg, "skiff-controller-manager");
    const leaderElect = String(flags["leader-elect"]) !== "false";
    const rate = Number(flags["node-eviction-rate"]);
    if (!Number.isFinite(rate) || rate < 0) {
      throw new CliError(`invalid --node-eviction-rate "${flags["node-eviction-rate"]}"`, 2);
    }
    const { signal, dispose } = shutdownSignal();
    try {
      const manager = startControllerManager({
        client,
        signal,
        identity: flags.identity as string | undefined,
        options: {
          controllers,
          leaderElect,
          leaseDurationMs: duration(flags, "leader-elect-lease-duration"),
          renewDeadlineMs: duration(flags, "leader-elect-renew-deadline"),
          retryPeriodMs: duration(flags, "leader-elect-retry-period"),
          nodeMonitorGracePeriodMs: duration(flags, "node-monitor-grace-period"),
          nodeLifecycle: { monitorPeriodMs: duration(flags, "node-monitor-period"), evictionRate: rate },
          podGC: { terminatedPodThreshold: flags["terminated-pod-gc-threshold"] as number },
        },
      });
      console.error(`controller-manager: ${manager.identity} talking to ${cfg.server}`);
      await manager.done;
      client.close();
      return 0;
    } catch (e) {
      if (e instanceof Error && /leaseDuration|renewDeadline|retryPeriod/.test(e.message)) {
        throw new CliError(e.message, 2);
      }
      throw e;
    } finally {
      dispose();
    }
  },
};
