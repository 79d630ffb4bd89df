/**
 * `./skiff node join --server URL --token ID.SECRET --certificate-authority CA.crt`: exchanges a
 * bootstrap token for this machine's node credential and writes the node's kubeconfig, as
 * `kubeadm join` does before it starts the kubelet.
 *
 * The exchange is one API call, `POST /api/v1/nodes/<name>/token` (a TokenRequest) authenticated
 * with the bootstrap token (`system:bootstrap:<id>` in `system:bootstrappers`); the answer's
 * `status.token` authenticates as `system:node:<name>` in `system:nodes` until its
 * `status.expirationTimestamp` (30 days; the node agent renews it the same way with the node
 * credential). The CA must be given (a file, or a kubeconfig carrying it): the token is never
 * sent to a server this machine cannot authenticate.
 *
 * Then, with that node credential, it requests the node's Ingress controller its own credential: a
 * token of the ServiceAccount `skiff-system/ingress-controller` (TokenRequest; the nodes may mint
 * tokens of that account and of no other, node/proxy/rbac.ts), written to
 * `<data-dir>/ingress.kubeconfig`, which the node agent renews from then on. What else the node's
 * network add-ons need (the service proxy's, DNS's and NetworkPolicy's reads) every node has
 * through the group `system:nodes`, so nothing is left to do by hand: run
 * `./skiff node --kubeconfig <out>` (the command it prints).
 * @module
 */
import { resolve } from "node:path";
import { Client } from "../control/api/client.ts";
import { BOOTSTRAP_TOKEN_PATTERN } from "../control/apiserver/auth/bootstrap_tokens.ts";
import { isApiError } from "../control/api/status.ts";
import type { Command } from "./args.ts";
import { clientConfig } from "./controller_manager.ts";
import { CliError } from "./errors.ts";
import { ingressKubeconfigPath, issueIngressKubeconfig } from "./ingress_credential.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { defaultNodeName } from "./node.ts";

/** What a join needs. */
export interface JoinOptions {
  server: string;
  /** The bootstrap token `<id>.<secret>`. */
  token: string;
  /** The cluster CA (PEM). */
  caCert: string;
  nodeName: string;
  /** Where to write the node's kubeconfig. */
  out: string;
  /** Where to write the Ingress controller's kubeconfig; none when undefined. */
  ingressOut?: string;
  /** Replaces the HTTP transport (tests). */
  fetch?: (req: Request) => Promise<Response>;
}

/** What a join wrote. */
export interface Joined {
  /** When the node credential expires. */
  expirationTimestamp: string;
  /** The Ingress controller's kubeconfig, when one was asked for and issued. */
  ingressKubeconfig?: string;
  /** Why the Ingress controller's credential was not issued. */
  ingressError?: string;
}

/**
 * Exchanges the bootstrap token and writes the node's kubeconfig; then, when `ingressOut` is
 * given, the Ingress controller's (a refusal there does not fail the join: it is reported).
 */
export async function joinNode(opts: JoinOptions): Promise<Joined> {
  if (!BOOTSTRAP_TOKEN_PATTERN.test(opts.token)) {
    throw new CliError("--token must be a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}", 2);
  }
  using client = new Client({
    server: opts.server,
    token: opts.token,
    caCerts: [opts.caCert],
    fetch: opts.fetch,
    userAgent: "skiff-node-join",
  });
  let status: { token?: string; expirationTimestamp?: string };
  try {
    const res = await client.request("POST", `/api/v1/nodes/${encodeURIComponent(opts.nodeName)}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {},
    });
    ({ status } = await res.json());
  } catch (e) {
    if (isApiError(e, 401)) throw new CliError("the API server refused the bootstrap token (unknown, expired or not for authentication)");
    if (isApiError(e)) throw new CliError(`the API server refused the join: ${e.message}`);
    throw new CliError(`cannot reach the API server at ${opts.server}: ${(e as Error).message}`);
  }
  if (!status?.token) throw new CliError("the API server's answer carries no node credential");
  await writeKubeconfig(opts.out, opts.server, { caCert: opts.caCert, token: status.token, user: `system:node:${opts.nodeName}` });
  const joined: Joined = { expirationTimestamp: status.expirationTimestamp ?? "" };
  if (opts.ingressOut) {
    try {
      await issueIngressKubeconfig(
        opts.ingressOut,
        { server: opts.server, caCert: opts.caCert, token: status.token },
        { userAgent: "skiff-node-join" },
      );
      joined.ingressKubeconfig = opts.ingressOut;
    } catch (e) {
      joined.ingressError = (e as Error).message;
    }
  }
  return joined;
}

/** `./skiff node join` (also `./skiff node-join`). */
export const nodeJoinCommand: Command = {
  name: "node join",
  summary: "Join this machine to a cluster: exchange a bootstrap token for a node credential.",
  description: [
    "Writes a kubeconfig for system:node:<name> (the cluster CA and the node credential) and one for",
    "the node's Ingress controller (a token of skiff-system/ingress-controller) into --data-dir, and",
    "prints the ./skiff node command to run. Create the bootstrap token on the cluster first",
    "(docs/security.md).",
  ].join("\n"),
  flags: [
    { name: "server", type: "string", value: "URL", description: "The API server URL (default: the kubeconfig's)." },
    { name: "token", type: "string", value: "ID.SECRET", description: "The bootstrap token." },
    { name: "certificate-authority", type: "string", value: "FILE", description: "The cluster CA certificate (PEM)." },
    { name: "kubeconfig", type: "string", value: "PATH", description: "A kubeconfig holding the server and the CA instead." },
    { name: "name", type: "string", value: "N", description: "Node name (default: the host name)." },
    { name: "data-dir", type: "string", value: "DIR", default: "./.skiff-node", description: "The node's data dir; the kubeconfig is written there." },
  ],
  args: "none",
  packages: [],
  async run({ cwd, flags }) {
    const token = flags.token as string | undefined;
    if (!token) throw new CliError("--token is required", 2);
    let server = flags.server as string | undefined;
    let caCert: string | undefined;
    if (flags.kubeconfig) {
      const cfg = await clientConfig({ kubeconfig: flags.kubeconfig, server }, cwd);
      server = cfg.server;
      caCert = cfg.caCert;
    }
    if (flags["certificate-authority"]) {
      const path = resolve(cwd, String(flags["certificate-authority"]));
      try {
        caCert = await Deno.readTextFile(path);
      } catch (e) {
        throw new CliError(`cannot read the CA certificate ${path}: ${(e as Error).message}`);
      }
    }
    if (!server) throw new CliError("give --server URL (or --kubeconfig PATH)", 2);
    if (!caCert) throw new CliError("give --certificate-authority FILE (or a --kubeconfig carrying the CA)", 2);
    const dataDir = resolve(cwd, String(flags["data-dir"]));
    await Deno.mkdir(dataDir, { recursive: true });
    const nodeName = (flags.name as string | undefined) ?? defaultNodeName();
    const out = `${dataDir}/kubeconfig`;
    const ingressOut = ingressKubeconfigPath(dataDir);
    const joined = await joinNode({ server, token, caCert, nodeName, out, ingressOut });
    console.error(`skiff: node ${nodeName} joined; its credential (valid until ${joined.expirationTimestamp}) is in ${out}`);
    if (joined.ingressError) {
      console.error(
        `skiff: warning: no credential for the node's Ingress controller (${joined.ingressError}); ` +
          "restart ./skiff up on the control plane (it lets nodes request one), then join again, " +
          "or give ./skiff node --ingress-kubeconfig",
      );
    }
    const ingressFlag = joined.ingressKubeconfig ? ` --ingress-kubeconfig ${joined.ingressKubeconfig}` : "";
    console.log(`./skiff node --kubeconfig ${out}${ingressFlag} --name ${nodeName} --data-dir ${dataDir}`);
    return 0;
  },
};
