/**
 * `./skiff apiserver --data-dir DIR`: one more API server replica on a cluster's KV file. The
 * control plane is stateless over KV, so replicas share the file (SQLite serializes their commits;
 * the store retries while the file is locked) and each serves the whole API. Watchers of a replica
 * see writes made through another one by polling (docs/api.md states the lag).
 * @module
 */
import { resolve } from "node:path";
import type { Command, FlagSpec, Flags } from "./args.ts";
import { CliError } from "./errors.ts";

/**
 * kube-apiserver's flags of the DefaultTolerationSeconds admission step, shared by `up` and
 * `apiserver` (each API server replica admits pods with its own values, as upstream).
 */
export const TOLERATION_FLAGS: FlagSpec[] = [
  {
    name: "default-not-ready-toleration-seconds",
    type: "number",
    value: "N",
    default: 300,
    description: "tolerationSeconds of the not-ready:NoExecute toleration added to every pod without one.",
  },
  {
    name: "default-unreachable-toleration-seconds",
    type: "number",
    value: "N",
    default: 300,
    description: "tolerationSeconds of the unreachable:NoExecute toleration added to every pod without one.",
  },
];

/** The `defaultTolerationSeconds` control-plane option from {@linkcode TOLERATION_FLAGS}. Pure. */
export function tolerationSeconds(flags: Flags): { notReady: number; unreachable: number } {
  return {
    notReady: Number(flags["default-not-ready-toleration-seconds"] ?? 300),
    unreachable: Number(flags["default-unreachable-toleration-seconds"] ?? 300),
  };
}

/** `./skiff apiserver`. */
export const apiserverCommand: Command = {
  name: "apiserver",
  summary: "Run one more API server replica on an existing cluster's KV file.",
  description: "Serves the Kubernetes API from <data-dir>/state.kv next to a running ./skiff up (or other replicas). " +
    "Prints `server: <url>` when ready; stops on SIGINT/SIGTERM.",
  flags: [
    { name: "data-dir", type: "string", value: "DIR", default: "./.skiff", description: "The cluster's data dir (holds state.kv)." },
    { name: "port", type: "number", value: "N", default: 0, max: 65535, description: "Port to listen on (0 picks a free one)." },
    { name: "hostname", type: "string", value: "ADDR", default: "127.0.0.1", description: "Address to listen on." },
    ...TOLERATION_FLAGS,
  ],
  args: "none",
  packages: ["openssl"],
  async run({ cwd, flags }) {
    const dataDir = resolve(cwd, String(flags["data-dir"]));
    const kvPath = `${dataDir}/state.kv`;
    try {
      await Deno.stat(kvPath);
    } catch {
      throw new CliError(`${kvPath} does not exist; start the cluster with ./skiff up --data-dir ${flags["data-dir"]} first`);
    }
    const { startControlPlane } = await import("../control/mod.ts");
    const { ensureClusterPki } = await import("./pki.ts");
    const { clusterSecurity } = await import("./up.ts");
    // The same CA, certificates, keys, authorization, admission and encryption as the cluster's `up`.
    const pki = await ensureClusterPki(dataDir);
    const cp = await startControlPlane({
      kvPath,
      port: flags.port as number,
      hostname: String(flags.hostname),
      ...await clusterSecurity(dataDir, pki),
      defaultTolerationSeconds: tolerationSeconds(flags),
    });
    console.log(`server: ${cp.url}`);
    const stop = Promise.withResolvers<void>();
    const onSignal = () => stop.resolve();
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    await stop.promise;
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cp.close();
    return 0;
  },
};
