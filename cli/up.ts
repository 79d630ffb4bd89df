/**
 * `./skiff up`: an all-in-one cluster on an embedded KV file in `--data-dir`.
 *
 * Layout of the data dir: `state.kv` (Deno KV), `kubeconfig` (the admin's: the cluster CA and
 * the admin token), `pki/` (CA, serving certificates, token-signing key, admin token: see
 * cli/pki.ts), `node.kubeconfig` (the node agent's credential, `system:node:<name>`),
 * `ingress.kubeconfig` (the Ingress controller's ServiceAccount token, cli/ingress_credential.ts),
 * `plugin-host.kubeconfig` (the plugin host's ServiceAccount token, cli/plugin_host_credential.ts;
 * its serving certificate and callers' token in `pki/plugin-host/`, its cache in `plugin-host/`),
 * `skiff.lock` (PID of the running `up`), `logs/` (child logs and `audit.log`), `run/` (records
 * of running children).
 *
 * The API server speaks HTTPS only, and every request must carry a credential (docs/security.md).
 * As the cluster's admin, `up` creates the RuntimeClass `wasm` (nodes may not); the controller
 * manager's node IPAM controller gives each node a pod CIDR from 198.18.0.0/16
 * (`--node-cidr-mask-size`, default /22). The plugin host (Wasm admission and scheduler plugins) is
 * started on the first such Plugin (cli/up_plugin_host.ts).
 *
 * stdout carries exactly two lines once the cluster is ready, `server: <url>` and
 * `kubeconfig: <path>`; everything else goes to stderr or `logs/`.
 * @module
 */
import { ensureNetworkRbac } from "../node/proxy/rbac.ts";
import { ensureIngressClass } from "../node/ingress/mod.ts";
import { ingressCredentials } from "./ingress_credential.ts";
import { type PluginHostPlan, planPluginHost, startPluginHostOnDemand } from "./up_plugin_host.ts";
import { wasmAdmission } from "../control/apiserver/admission/wasm_plugins.ts";
import type { ApiServer } from "../control/apiserver/server.ts";
import { resolve } from "node:path";
import { Client } from "../control/api/client.ts";
import type { ControlPlaneOptions } from "../control/mod.ts";
import type { Command } from "./args.ts";
import { TOLERATION_FLAGS, tolerationSeconds } from "./apiserver.ts";
import { CliError } from "./errors.ts";
import { loadOrCreateEncryptionConfig } from "./secrets.ts";
import { encryptionTransformer } from "../control/apiserver/encryption/aes_gcm.ts";
import type { ControllerManagerOptions } from "../control/controllers/manager.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { acquireDataDirLock } from "./lock.ts";
import { defaultNodeName } from "./node.ts";
import { type NodeAgentContext, startNodeAgent } from "./node_agent.ts";
import { type ClusterPki, controlPlaneSecurity, ensureClusterPki, ensureNodeServingCert } from "./pki.ts";
import { ensureRuntimeClass } from "../node/runtime_class.ts";
import { ensureLocalPathStorage } from "../control/api/storage.ts";
import { localSubnets } from "../node/cni/ip.ts";
import { overlaps } from "../node/registration/pod_cidr.ts";
import { reapStaleChildren, Supervisor } from "./supervisor.ts";

/** The control plane as `up` uses it (the contract of `startControlPlane` in `control/mod.ts`). */
export interface ControlPlane {
  url: string;
  /** The API server, when in this process: `up` adds the WasmPlugins admission step to it. */
  server?: ApiServer;
  close(): Promise<void>;
}

/** Starts a control plane on a KV file, with the security options of the cluster's PKI. */
export type StartControlPlane = (
  opts:
    & { kvPath: string; port: number; hostname?: string }
    & Partial<
      Pick<
        ControlPlaneOptions,
        | "tls"
        | "authentication"
        | "kubelet"
        | "audit"
        | "components"
        | "rbac"
        | "builtinAdmission"
        | "store"
        | "defaultTolerationSeconds"
      >
    >,
) => Promise<ControlPlane>;

/** What `up` runs with. */
export interface UpOptions {
  /** Absolute data dir; created when missing. */
  dataDir: string;
  /** API server port; 0 picks a free one. */
  port: number;
  /** Start the node agent too. */
  node: boolean;
  /** Listen address (default 127.0.0.1). */
  hostname?: string;
  /** Size of each node's pod CIDR block (the node IPAM controller's `--node-cidr-mask-size`, default 22). */
  nodeCidrMaskSize?: number;
  /** The node's Ingress controller ports (default 80 and 443), or `false` for none. */
  ingress?: { httpPort: number; httpsPort: number } | false;
  /** The not-ready/unreachable tolerationSeconds the API server gives pods (default 300 each). */
  defaultTolerationSeconds?: ControlPlaneOptions["defaultTolerationSeconds"];
}

/** I/O `up` is given, so tests can drive it in-process. */
export interface UpDeps {
  startControlPlane: StartControlPlane;
  startNodeAgent(ctx: NodeAgentContext): Promise<void>;
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
  /** How long children get between SIGTERM and SIGKILL. */
  graceMs?: number;
}

/**
 * Runs a cluster until `signal` aborts, then stops everything. Resolves to the exit code; throws
 * {@linkcode CliError} for user errors (data dir in use, port taken).
 */
export async function runUp(opts: UpOptions, deps: UpDeps, signal: AbortSignal): Promise<number> {
  const { dataDir } = opts;
  await mkdir(dataDir);
  await using lock = await acquireDataDirLock(dataDir);
  if (lock.stalePid !== undefined) {
    deps.err(
      `skiff: the previous ./skiff up (pid ${lock.stalePid}) did not stop cleanly; resuming its state`,
    );
  }
  const runDir = `${dataDir}/run`;
  await mkdir(runDir);
  await mkdir(`${dataDir}/logs`);
  const reaped = reapStaleChildren(runDir);
  if (reaped.length > 0) deps.err(`skiff: killed leftover child process groups ${reaped.join(", ")}`);

  const pki = await ensureClusterPki(dataDir);
  using audit = openAuditLog(`${dataDir}/logs/audit.log`);
  await using supervisor = new Supervisor({ runDir, graceMs: deps.graceMs });
  const removeGuards = supervisor.installCrashGuards();
  try {
    // How the API server and the scheduler reach the plugin host (cli/up_plugin_host.ts).
    using plugins = await planPluginHost(pki);
    const cp = await startControlPlane(deps.startControlPlane, opts, pki, audit.write, plugins);
    let admission: ReturnType<typeof wasmAdmission> | undefined;
    let ingressCredential: Disposable & { path: string } | undefined;
    let pluginHost: AsyncDisposable | undefined;
    try {
      if (cp.server) {
        admission = wasmAdmission(cp.server, {
          url: plugins.url,
          token: plugins.token,
          fetch: plugins.fetch,
          channelUrl: plugins.channelUrl,
          caCerts: plugins.caCerts,
        });
        cp.server.admission.push(admission);
      }
      const kubeconfig = `${dataDir}/kubeconfig`;
      await writeKubeconfig(kubeconfig, cp.url, { caCert: pki.caCert, token: pki.adminToken });
      await createRuntimeClasses(cp.url, pki);
      // Started when the first admission or scheduler Plugin exists, without delaying readiness.
      if (cp.server) {
        pluginHost = startPluginHostOnDemand(plugins, { server: cp.url, pki, dataDir, supervisor, log: deps.err, signal });
      }
      // With or without a node here: nodes joined later (./skiff node join) rely on it too.
      await grantNetworkRole(cp.url, pki);
      if (opts.node) {
        const nodeKubeconfig = await nodeCredentials(cp.url, pki, dataDir);
        // The Ingress controller acts as its own ServiceAccount, never as the node (docs/security.md).
        ingressCredential = opts.ingress === false ? undefined : await ingressCredentials(cp.url, pki, dataDir, deps.err);
        await deps.startNodeAgent({
          supervisor,
          dataDir,
          server: cp.url,
          kubeconfig: nodeKubeconfig,
          log: deps.err,
          ingress: opts.ingress,
          ingressKubeconfig: ingressCredential?.path,
        });
      }
      if (!signal.aborted) {
        deps.out(`server: ${cp.url}`);
        deps.out(`kubeconfig: ${kubeconfig}`);
        await aborted(signal);
      }
      deps.err("skiff: stopping");
    } finally {
      ingressCredential?.[Symbol.dispose]();
      await pluginHost?.[Symbol.asyncDispose]();
      await supervisor.stop(); // children first: they talk to the control plane
      await cp.close();
      admission?.close();
    }
  } finally {
    removeGuards();
  }
  return 0;
}

/**
 * Everything that secures a cluster's API servers (`up` and every `./skiff apiserver` replica):
 * HTTPS and authentication from the PKI, RBAC and the node authorizer, the built-in admission
 * steps, and encryption of Secrets at rest with the data dir's keys.
 */
export async function clusterSecurity(dataDir: string, pki: ClusterPki) {
  const encryption = await loadOrCreateEncryptionConfig(dataDir);
  return {
    ...controlPlaneSecurity(pki),
    rbac: true,
    // Pods mount a bound ServiceAccount token, which the node agent projects (docs/security.md).
    builtinAdmission: { serviceAccount: { mountServiceAccountToken: true } },
    store: { transformer: encryptionTransformer(encryption) },
  } satisfies Partial<ControlPlaneOptions>;
}

async function startControlPlane(
  start: StartControlPlane,
  opts: UpOptions,
  pki: ClusterPki,
  audit: (line: string) => void,
  plugins: PluginHostPlan,
): Promise<ControlPlane> {
  const hostname = opts.hostname ?? "127.0.0.1";
  try {
    return await start({
      kvPath: `${opts.dataDir}/state.kv`,
      port: opts.port,
      hostname,
      // The scheduler and the controller manager run in this process, as API clients; the root-CA
      // publisher puts the cluster CA into every namespace.
      components: {
        controllers: {
          rootCA: { rootCAPem: pki.caCert },
          // Pod CIDRs avoid the subnets already on this machine (another cluster's bridge).
          nodeIpam: { nodeCIDRMaskSize: opts.nodeCidrMaskSize ?? 22, reservedCIDRs: await machineSubnets() },
        } as ControllerManagerOptions,
        scheduler: {
          wasmPlugins: { url: plugins.url, token: plugins.token, fetch: plugins.fetch, channelUrl: plugins.channelUrl, caCerts: plugins.caCerts },
        },
      },
      ...await clusterSecurity(opts.dataDir, pki),
      audit: { sink: audit },
      ...(opts.defaultTolerationSeconds ? { defaultTolerationSeconds: opts.defaultTolerationSeconds } : {}),
    });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new CliError(
        `port ${opts.port} on ${hostname} is in use; pass --port N (--port 0 picks a free port)`,
      );
    }
    throw e;
  }
}

/**
 * The subnets on this machine's interfaces inside the pod network 198.18.0.0/16, but for the
 * node's own bridge `skiff0` (a previous run's): blocks the node IPAM controller must not hand
 * out. Empty when `ip` cannot tell.
 */
async function machineSubnets(): Promise<string[]> {
  try {
    return (await localSubnets("skiff0")).filter((s) => overlaps(s, "198.18.0.0/16"));
  } catch {
    return [];
  }
}

/**
 * The cluster's RuntimeClasses, created with the admin credential: `wasm` (handler `wasm`), which
 * every Skiff node serves. Nodes may not create RuntimeClasses; a node joining with `./skiff node`
 * uses this one.
 */
export async function createRuntimeClasses(server: string, pki: ClusterPki): Promise<void> {
  using client = new Client({ server, token: pki.adminToken, caCerts: [pki.caCert], userAgent: "skiff-up" });
  await ensureRuntimeClass(client, "wasm");
  await ensureRuntimeClass(client, "oci");
  // The default StorageClass `local-path` and its CSIDriver (docs/storage.md).
  await ensureLocalPathStorage(client);
}

/**
 * The node agent's credentials: a node credential (`system:node:<name>`) obtained through the
 * API exactly as `./skiff node join` does (`POST /api/v1/nodes/<name>/token`, here with the admin
 * token), written with the CA to `<data-dir>/node.kubeconfig`, and its serving certificate in
 * `pki/nodes/`. Returns the kubeconfig's path.
 */
export async function nodeCredentials(server: string, pki: ClusterPki, dataDir: string): Promise<string> {
  const name = defaultNodeName();
  await ensureNodeServingCert(pki, name, ["127.0.0.1", "localhost"]);
  using client = new Client({ server, token: pki.adminToken, caCerts: [pki.caCert], userAgent: "skiff-up" });
  const res = await client.request("POST", `/api/v1/nodes/${encodeURIComponent(name)}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {},
  });
  const { status } = await res.json();
  const path = `${dataDir}/node.kubeconfig`;
  await writeKubeconfig(path, server, { caCert: pki.caCert, token: status.token, user: `system:node:${name}` });
  return path;
}

/**
 * The identities of the network add-ons (node/proxy/rbac.ts): `system:skiff-node-network` for
 * every node (the group `system:nodes`: service proxy, DNS, NetworkPolicy), the ServiceAccount `skiff-system/ingress-controller` for the Ingress controller
 * (whose tokens the nodes may mint), and the IngressClass `skiff` (created here, as the admin: the
 * controller may only read classes). Removes this machine's node's per-node bindings of earlier
 * versions.
 */
export async function grantNetworkRole(server: string, pki: ClusterPki): Promise<void> {
  using client = new Client({ server, token: pki.adminToken, caCerts: [pki.caCert], userAgent: "skiff-up" });
  await ensureNetworkRbac(client, [defaultNodeName()]);
  await ensureIngressClass(client);
}

/** An append-only audit log file; `write` takes one JSON line. */
function openAuditLog(path: string): { write(line: string): void } & Disposable {
  const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  const encoder = new TextEncoder();
  let open = true;
  return {
    write(line) {
      if (!open) return;
      const bytes = encoder.encode(line + "\n");
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
    },
    [Symbol.dispose]() {
      open = false;
      file.close();
    },
  };
}

async function mkdir(path: string): Promise<void> {
  try {
    await Deno.mkdir(path, { recursive: true });
  } catch (e) {
    if (isFsError(e)) {
      throw new CliError(`cannot create directory ${path}: ${e.message}; pass another --data-dir`);
    }
    throw e;
  }
}

/** An operating-system error (`Deno.errors.*`): the user's to fix, not a bug. */
function isFsError(e: unknown): e is Error {
  return Object.values(Deno.errors).some((cls) => e instanceof cls);
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** `./skiff up`. */
export const upCommand: Command = {
  name: "up",
  summary: "Start an all-in-one cluster (control plane and node) on an embedded KV file; Ctrl-C stops it.",
  description: [
    "When ready it prints two lines on stdout, `server: <url>` and `kubeconfig: <path>`;",
    "use them as: kubectl --kubeconfig <path> get ns. The API is served over HTTPS with a",
    "cluster CA created in <data-dir>/pki; the kubeconfig carries the CA and the admin token.",
    "Requests are audited to <data-dir>/logs/audit.log. Running it again on the same --data-dir",
    "resumes the same state; a data dir serves one ./skiff up at a time.",
  ].join("\n"),
  flags: [
    {
      name: "data-dir",
      type: "string",
      value: "DIR",
      default: "./.skiff",
      description: "Where state, kubeconfig and logs live.",
    },
    {
      name: "port",
      type: "number",
      value: "N",
      default: 6443,
      max: 65535,
      description: "API server port on 127.0.0.1; 0 picks a free port.",
    },
    { name: "no-node", type: "boolean", description: "Run the control plane only, without a node agent." },
    {
      name: "node-cidr-mask-size",
      type: "number",
      value: "BITS",
      default: 22,
      max: 30,
      description: "Size of the pod CIDR each node gets from 198.18.0.0/16 (16 to 30).",
    },
    {
      name: "ingress-http-port",
      type: "number",
      value: "N",
      default: 80,
      max: 65535,
      description: "Port of the Ingress controller's HTTP listener on the node's address; 0 picks a free port.",
    },
    {
      name: "ingress-https-port",
      type: "number",
      value: "N",
      default: 443,
      max: 65535,
      description: "Port of the Ingress controller's HTTPS listener; 0 picks a free port.",
    },
    { name: "no-ingress", type: "boolean", description: "Run no Ingress controller on the node." },
    ...TOLERATION_FLAGS,
  ],
  args: "none",
  /**
   * openssl makes the cluster's certificates; iproute2 and nftables wire the node's pod network
   * and Services; crun and conmon run container pods.
   */
  packages: ["openssl", "iproute2", "nftables", "crun", "conmon"],
  async run({ cwd, flags }) {
    const mask = Number(flags["node-cidr-mask-size"]);
    if (mask < 16) throw new CliError("--node-cidr-mask-size must be between 16 and 30 (the pool is a /16)", 2);
    const stop = new AbortController();
    const onSignal = () => {
      if (stop.signal.aborted) Deno.exit(130); // a second signal: the crash guards kill the children
      stop.abort();
    };
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    // stdout carries only the two ready lines: whatever else is logged with console.log goes to stderr.
    const print = console.log;
    console.log = console.error;
    try {
      const { startControlPlane } = await import("../control/mod.ts");
      return await runUp({
        dataDir: resolve(cwd, String(flags["data-dir"])),
        port: Number(flags["port"]),
        node: !flags["no-node"],
        nodeCidrMaskSize: mask,
        ingress: flags["no-ingress"]
          ? false
          : { httpPort: Number(flags["ingress-http-port"]), httpsPort: Number(flags["ingress-https-port"]) },
        defaultTolerationSeconds: tolerationSeconds(flags),
      }, {
        startControlPlane,
        startNodeAgent,
        out: (line) => print(line),
        err: (line) => console.error(line),
      }, stop.signal);
    } finally {
      console.log = print;
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  },
};
