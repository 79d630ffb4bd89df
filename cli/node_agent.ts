/**
 * The hook `./skiff up` calls to start the node agent: `./skiff node` (run as `cli/node.ts`) as a supervised child
 * (its own process group, logging to `<data-dir>/logs/node.log`, state in `<data-dir>/node`),
 * named after the host. It resolves once the Node is registered and Ready, so `up`'s ready lines
 * mean the cluster can run pods; it throws when the agent exits or is not ready within a minute.
 * @module
 */
import { dirname } from "node:path";
import { defaultNodeName, kubeconfigCredentials } from "./node.ts";
import { CliError } from "./errors.ts";
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
  /** The Ingress controller's ports, or `false` for none (default: the node command's, 80 and 443). */
  ingress?: { httpPort: number; httpsPort: number } | false;
  /** The Ingress controller's own kubeconfig (its ServiceAccount's token; cli/ingress_credential.ts). */
  ingressKubeconfig?: string;
}

const READY_TIMEOUT_MS = 60_000;

/** The repository root (this file's parent folder), or `SKIFF_ROOT`. */
function root(): string {
  return Deno.env.get("SKIFF_ROOT") ??
    decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
}

/** Starts the node agent of an all-in-one cluster. */
export async function startNodeAgent(ctx: NodeAgentContext): Promise<void> {
  if (Deno.uid() !== 0) {
    ctx.log(
      "skiff: not root, so no node agent (it needs network namespaces); running the control plane only",
    );
    return;
  }
  const name = defaultNodeName();
  // The serving certificate `up` issued for this node (cli/pki.ts), when there is one.
  const cert = `${ctx.dataDir}/pki/nodes/${name}.crt`;
  const key = `${ctx.dataDir}/pki/nodes/${name}.key`;
  const tls = exists(cert) && exists(key) ? ["--tls-cert-file", cert, "--tls-private-key-file", key] : [];
  const spawnedAt = Date.now();
  const child = ctx.supervisor.spawn({
    name: "node",
    cmd: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--config",
      `${root()}/deno.json`,
      `${root()}/cli/node.ts`,
      "--server",
      ctx.server,
      "--kubeconfig",
      ctx.kubeconfig,
      "--name",
      name,
      "--data-dir",
      `${ctx.dataDir}/node`,
      "--port",
      "0",
      ...tls,
      ...(ctx.ingress === false
        ? ["--no-ingress"]
        : ctx.ingress
        ? ["--ingress-http-port", String(ctx.ingress.httpPort), "--ingress-https-port", String(ctx.ingress.httpsPort)]
        : []),
      ...(ctx.ingressKubeconfig ? ["--ingress-kubeconfig", ctx.ingressKubeconfig] : []),
    ],
    logFile: `${ctx.dataDir}/logs/node.log`,
  });
  const { token, caCert } = kubeconfigCredentials(
    await Deno.readTextFile(ctx.kubeconfig),
    dirname(ctx.kubeconfig),
  );
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  using http = caCert ? Deno.createHttpClient({ caCerts: [caCert] }) : undefined;
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new CliError(`the node agent exited before it was ready${logTail(ctx.dataDir)}`);
    try {
      const res = await fetch(`${ctx.server}/api/v1/nodes/${name}`, {
        headers,
        ...(http ? { client: http } : {}),
      });
      if (res.ok) {
        const node = await res.json();
        const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
        // A Node left by an earlier run may still say Ready: only a heartbeat from this agent counts.
        const fresh = Date.parse(ready?.lastHeartbeatTime ?? "") >= spawnedAt - 1000;
        if (ready?.status === "True" && fresh && node.status?.runtimeHandlers?.length) {
          ctx.log(`skiff: node ${name} is ready (pod CIDR ${node.spec?.podCIDR})`);
          return;
        }
      } else await res.body?.cancel();
    } catch { /* the API server is up; retry */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new CliError(`the node agent was not ready after ${READY_TIMEOUT_MS / 1000} s${logTail(ctx.dataDir)}`);
}

/** The last lines of the node agent's log, to say why it failed, and where the rest is. */
export function logTail(dataDir: string, lines = 5): string {
  const path = `${dataDir}/logs/node.log`;
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch { /* no log yet */ }
  const last = text.split("\n").map((l) => l.trimEnd()).filter((l) => l && !/^\s+at /.test(l)).slice(-lines);
  return `; see ${path}${last.length ? `, which ends with:\n  ${last.join("\n  ")}` : ""}`;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
