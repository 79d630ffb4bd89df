/**
 * `./skiff node`: joins this machine to a cluster as a node and runs its pods (WebAssembly
 * components) until SIGINT/SIGTERM. Then it stops every pod and removes the pod network, unless
 * `--keep-pods` asks to leave them running for the next agent to adopt. The Node object stays.
 *
 * The server and the node's credential come from the kubeconfig's current context; `--server`
 * wins. The agent renews the credential before it expires and writes the new one back into that
 * kubeconfig.
 * @module
 */
import { dirname, resolve } from "node:path";
import { parse, stringify } from "yaml";
import type { Command } from "./args.ts";
import { CliError } from "./errors.ts";
import type { NodeAgent, NodeAgentOptions } from "../node/mod.ts";

/**
 * Server, token and CA of a kubeconfig's current context (`certificate-authority-data`, or the
 * PEM file `certificate-authority` names, relative to the kubeconfig's folder `dir`).
 */
export function kubeconfigCredentials(
  text: string,
  dir = ".",
): { server?: string; token?: string; caCert?: string } {
  // deno-lint-ignore no-explicit-any
  const doc = parse(text) as any;
  const ctxName = doc?.["current-context"];
  const ctx = (doc?.contexts ?? []).find((c: { name: string }) => c.name === ctxName)?.context ??
    doc?.contexts?.[0]?.context;
  const cluster = (doc?.clusters ?? []).find((c: { name: string }) => c.name === ctx?.cluster)?.cluster;
  const user = (doc?.users ?? []).find((u: { name: string }) => u.name === ctx?.user)?.user;
  let caCert: string | undefined;
  if (cluster?.["certificate-authority-data"]) caCert = atob(cluster["certificate-authority-data"]);
  else if (cluster?.["certificate-authority"]) {
    caCert = Deno.readTextFileSync(resolve(dir, cluster["certificate-authority"]));
  }
  return { server: cluster?.server, token: user?.token, caCert };
}

/**
 * The kubeconfig text with the current context's user token replaced by `token` (a renewed
 * credential). Pure.
 */
export function withKubeconfigToken(text: string, token: string): string {
  // deno-lint-ignore no-explicit-any
  const doc = parse(text) as any;
  const ctxName = doc?.["current-context"];
  const ctx = (doc?.contexts ?? []).find((c: { name: string }) => c.name === ctxName)?.context ??
    doc?.contexts?.[0]?.context;
  const user = (doc?.users ?? []).find((u: { name: string }) => u.name === ctx?.user);
  if (!user) throw new Error("the kubeconfig's current context names no user");
  user.user = { ...(user.user ?? {}), token };
  return stringify(doc);
}

/** Rewrites the token of the kubeconfig at `path`, atomically and owner-only. */
export async function rewriteKubeconfigToken(path: string, token: string): Promise<void> {
  const text = withKubeconfigToken(await Deno.readTextFile(path), token);
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.rename(tmp, path);
}

/** A DNS-1123 subdomain made of the host name (the default node name). */
export function defaultNodeName(hostname = Deno.hostname()): string {
  const name = hostname.toLowerCase().replace(/[^a-z0-9.-]/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return name || "skiff-node";
}

/** `./skiff node`. */
export const nodeCommand: Command = {
  name: "node",
  summary: "Join this machine to a cluster as a node running containers and WebAssembly pods; Ctrl-C stops it.",
  description: [
    "Registers the node, waits for the pod CIDR the control plane assigns (or uses --pod-cidr),",
    "sets up the bridge and runs the pods scheduled to it, with the RuntimeClass `wasm` a cluster",
    "admin created (./skiff up does). It acts with the kubeconfig's node credential, renewing it",
    "in that file, and its endpoint answers only the API server. Pods keep their state under",
    "--data-dir: logs in pods/, volumes in kubelet/, runtime and network state beside them.",
    "Stopping it stops the pods and removes the network; with --keep-pods they keep running and",
    "the next ./skiff node on the same --data-dir adopts them.",
  ].join("\n"),
  flags: [
    {
      name: "server",
      type: "string",
      value: "URL",
      description: "API server URL (default: the kubeconfig's).",
    },
    {
      name: "kubeconfig",
      type: "string",
      value: "PATH",
      description: "Kubeconfig with the server and credentials.",
    },
    { name: "name", type: "string", value: "N", description: "Node name (default: the host name)." },
    {
      name: "data-dir",
      type: "string",
      value: "DIR",
      default: "./.skiff-node",
      description: "Where the node keeps its state.",
    },
    {
      name: "address",
      type: "string",
      value: "IP",
      default: "127.0.0.1",
      description: "InternalIP; the agent endpoint listens there.",
    },
    {
      name: "port",
      type: "number",
      value: "N",
      default: 10250,
      max: 65535,
      description: "Agent endpoint port; 0 picks a free one.",
    },
    {
      name: "pod-cidr",
      type: "string",
      value: "CIDR",
      description: "Use this pod CIDR instead of waiting for the one the control plane assigns.",
    },
    { name: "max-pods", type: "number", value: "N", default: 1000, description: "Pods this node accepts." },
    {
      name: "bridge",
      type: "string",
      value: "NAME",
      default: "skiff0",
      description: "Name of the pod bridge.",
    },
    {
      name: "cni-conf-dir",
      type: "string",
      value: "DIR",
      description: "Use standard CNI plugins, configured by the first .conflist/.conf in DIR, instead of the built-in bridge.",
    },
    {
      name: "cni-bin-dir",
      type: "string",
      value: "DIRS",
      default: "/usr/lib/cni",
      description: "Where the CNI plugin binaries are (CNI_PATH; several separated by ':').",
    },
    { name: "keep-pods", type: "boolean", description: "On exit, leave pods running for the next agent." },
    {
      name: "tls-cert-file",
      type: "string",
      value: "PATH",
      description: "Serving certificate (PEM) of the agent endpoint: it then speaks HTTPS.",
    },
    {
      name: "tls-private-key-file",
      type: "string",
      value: "PATH",
      description: "Key (PEM) of --tls-cert-file.",
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
    {
      name: "ingress-kubeconfig",
      type: "string",
      value: "PATH",
      description:
        "Credential of the Ingress controller (a token of the ServiceAccount skiff-system/ingress-controller; default: <data-dir>/ingress.kubeconfig when there, as ./skiff node join writes it); without one the controller uses the node's, which may not read Ingresses or TLS Secrets under RBAC.",
    },
    {
      name: "proxy-mode",
      type: "string",
      value: "MODE",
      default: "auto",
      description: "Service proxy: auto (nftables, else userspace), nftables or userspace.",
    },
  ],
  args: "none",
  packages: ["iproute2", "nftables", "crun", "conmon"],
  async run({ cwd, flags }) {
    const proxyMode = String(flags["proxy-mode"]);
    if (!["auto", "nftables", "userspace"].includes(proxyMode)) {
      throw new CliError(`--proxy-mode ${proxyMode}: use auto, nftables or userspace`, 2);
    }
    if (Deno.uid() !== 0) {
      throw new CliError("the node agent needs root (it creates network namespaces and a bridge)");
    }
    let server = flags["server"] as string | undefined;
    let token: string | undefined;
    let caCert: string | undefined;
    let kubeconfigPath: string | undefined;
    if (flags["kubeconfig"]) {
      const path = kubeconfigPath = resolve(cwd, String(flags["kubeconfig"]));
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (e) {
        throw new CliError(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
      }
      const creds = kubeconfigCredentials(text, dirname(path));
      server ??= creds.server;
      token = creds.token;
      caCert = creds.caCert;
    }
    if (!server) throw new CliError("no API server: pass --server URL or --kubeconfig PATH");
    let tls: { cert: string; key: string } | undefined;
    if (flags["tls-cert-file"] || flags["tls-private-key-file"]) {
      if (!flags["tls-cert-file"] || !flags["tls-private-key-file"]) {
        throw new CliError("--tls-cert-file and --tls-private-key-file go together");
      }
      try {
        tls = {
          cert: await Deno.readTextFile(resolve(cwd, String(flags["tls-cert-file"]))),
          key: await Deno.readTextFile(resolve(cwd, String(flags["tls-private-key-file"]))),
        };
      } catch (e) {
        throw new CliError(`cannot read the serving certificate: ${(e as Error).message}`);
      }
    }
    const podCIDR = flags["pod-cidr"] as string | undefined;
    if (podCIDR !== undefined && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(podCIDR)) {
      throw new CliError(`--pod-cidr ${podCIDR} is not an IPv4 CIDR`, 2);
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    let ingressCredentials: { server?: string; caCert?: string; token: () => string } | undefined;
    const joinedIngress = `${resolve(cwd, String(flags["data-dir"]))}/ingress.kubeconfig`;
    const ingressKubeconfig = flags["ingress-kubeconfig"]
      ? resolve(cwd, String(flags["ingress-kubeconfig"]))
      : (await Deno.stat(joinedIngress).then(() => joinedIngress, () => undefined));
    if (ingressKubeconfig && !flags["no-ingress"]) {
      const { ingressKubeconfigCredentials } = await import("./ingress_credential.ts");
      const path = ingressKubeconfig;
      // The node's current credential (renewed into its kubeconfig), should the Ingress token lapse.
      const nodeToken = () => {
        if (!kubeconfigPath) return token;
        try {
          return kubeconfigCredentials(Deno.readTextFileSync(kubeconfigPath), dirname(kubeconfigPath)).token;
        } catch {
          return token;
        }
      };
      try {
        ingressCredentials = ingressKubeconfigCredentials(path, kubeconfigCredentials, { nodeToken });
      } catch (e) {
        throw new CliError(`cannot read the Ingress kubeconfig ${path}: ${(e as Error).message}`);
      }
    }
    const { startNodeAgent, nodeRuntime } = await import("../node/mod.ts");
    const options: NodeAgentOptions = {
      server,
      token,
      caCerts: caCert ? [caCert] : undefined,
      tls,
      name: (flags["name"] as string | undefined) ?? defaultNodeName(),
      dataDir: resolve(cwd, String(flags["data-dir"])),
      // Built-in plugins (`builtin:` images) are built once per data dir (or a shared cache).
      pluginBuildDir: Deno.env.get("SKIFF_PLUGIN_BUILD_CACHE") ?? `${resolve(cwd, String(flags["data-dir"]))}/plugins/build`,
      address: String(flags["address"]),
      port: Number(flags["port"]),
      podCIDR,
      maxPods: Number(flags["max-pods"]),
      bridge: String(flags["bridge"]),
      ...(flags["cni-conf-dir"]
        ? {
          cni: {
            confDir: resolve(cwd, String(flags["cni-conf-dir"])),
            binDirs: String(flags["cni-bin-dir"]).split(":").filter(Boolean).map((d) => resolve(cwd, d)),
          },
        }
        : {}),
      runtime: nodeRuntime(),
      signal: stop.signal,
      network: {
        proxyMode: proxyMode as "auto" | "nftables" | "userspace",
        ...(flags["no-ingress"] ? {} : {
          ingress: {
            httpPort: Number(flags["ingress-http-port"]),
            httpsPort: Number(flags["ingress-https-port"]),
            credentials: ingressCredentials,
          },
        }),
      },
    };
    if (kubeconfigPath) {
      const path = kubeconfigPath;
      options.onCredentialRenewed = (issued) => rewriteKubeconfigToken(path, issued.token);
    }
    try {
      let agent: NodeAgent;
      try {
        agent = await startNodeAgent(options);
      } catch (e) {
        if (stop.signal.aborted) return 0; // stopped while starting (waiting for a pod CIDR)
        throw e;
      }
      console.error(`skiff: node ${agent.name} ready (pod CIDR ${agent.podCIDR}, endpoint ${agent.url})`);
      for (const handler of agent.missingRuntimeClasses) {
        console.error(`skiff: warning: the cluster has no RuntimeClass for the handler "${handler}"; see above`);
      }
      if (!stop.signal.aborted) {
        await new Promise((r) => stop.signal.addEventListener("abort", r, { once: true }));
      }
      console.error(`skiff: node ${agent.name} stopping`);
      await agent.stop({ keepPods: flags["keep-pods"] === true });
      return 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  },
};

// Runnable on its own (`deno run -A cli/node.ts --server URL ...`): how `./skiff up` starts its
// node agent, whatever the command table holds. (It does what main.ts does for one command,
// without importing the command table, which imports this file.)
if (import.meta.main) {
  const { parseCommandArgs } = await import("./args.ts");
  const { ensureDebianPackages } = await import("./install.ts");
  const parsed = parseCommandArgs(nodeCommand, Deno.args);
  if (parsed.kind !== "run") {
    console.error(parsed.kind === "error" ? parsed.message : "usage: ./skiff node --help");
    Deno.exit(2);
  }
  try {
    await ensureDebianPackages(nodeCommand.packages);
    Deno.exit(
      await nodeCommand.run({
        root: "",
        cwd: Deno.cwd(),
        flags: parsed.flags,
        args: parsed.args,
        commands: [nodeCommand],
      }),
    );
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    console.error(`skiff: ${e.message}`);
    Deno.exit(e.exitCode);
  }
}
