/**
 * `./skiff plugin-host`: the process that runs the control plane's Wasm plugins (admission and
 * scheduler kinds; plugins/host/server.ts), serving the API server and the scheduler over
 * HTTPS. It pulls plugin images with the OCI client (node/registry), watches Plugins and
 * writes their status through the API. `./skiff up` supervises it like the node agent
 * ({@linkcode supervisePluginHost}: restarted when it exits); on Deno Deploy it runs elsewhere
 * and the API server is configured with its URL.
 * @module
 */
import { registryPull } from "../node/registry/plugin_pull.ts";
import { PluginHost } from "../plugins/host/server.ts";
import type { Command } from "./args.ts";
import { CONNECTION_FLAGS } from "./component_flags.ts";
import { clientConfig, shutdownSignal } from "./controller_manager.ts";
import { Client } from "../control/api/client.ts";
import { ingressKubeconfigCredentials as rotatingKubeconfigCredentials } from "./ingress_credential.ts";
import { kubeconfigCredentials } from "./node.ts";
import type { Supervisor } from "./supervisor.ts";

/** Pulls a plugin image (node/registry/plugin_pull.ts, shared with node agents). */
export { registryPull };

/** What a plugin host listens with. */
export interface PluginHostServeOptions {
  host: PluginHost;
  port: number;
  hostname?: string;
  tls?: { cert: string; key: string };
}

/** Serves a plugin host; resolves to its URL and a stop function. */
export async function servePluginHost(opts: PluginHostServeOptions): Promise<{ url: string; server: Deno.HttpServer<Deno.NetAddr> }> {
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: opts.port,
    hostname: opts.hostname ?? "127.0.0.1",
    onListen: resolve,
    ...(opts.tls ?? {}),
  }, opts.host.handler);
  const addr = await promise;
  // The callers' channel (plugins/host/channel.ts): a port of its own, named by `GET /channel`.
  opts.host.listenChannel({ hostname: opts.hostname ?? "127.0.0.1", tls: opts.tls });
  return { url: `${opts.tls ? "https" : "http"}://${addr.hostname}:${addr.port}`, server };
}

/** `./skiff plugin-host`. */
export const pluginHostCommand: Command = {
  name: "plugin-host",
  summary: "Run the plugin host: the control plane's Wasm plugins (admission, scheduler), served over HTTPS.",
  description: [
    "Watches Plugin objects (skiff.dev/v1alpha1), pulls their OCI Wasm artifacts, runs each plugin in",
    "a runner process of its own (killed and restarted when a call runs past its deadline), and serves",
    "the API server's admission calls and the scheduler's cycles. Prints `plugin-host: <url>` on stdout",
    "when it listens (and writes it to --url-file).",
  ].join("\n"),
  flags: [
    ...CONNECTION_FLAGS,
    { name: "data-dir", type: "string", value: "DIR", default: "./.skiff/plugin-host", description: "Component cache, blobs and state stores." },
    { name: "port", type: "number", value: "N", default: 0, max: 65535, description: "Port on the listen address (0: a free one)." },
    { name: "hostname", type: "string", value: "ADDR", default: "127.0.0.1", description: "Listen address." },
    { name: "tls-cert-file", type: "string", value: "PATH", description: "Serving certificate (PEM); without it: plain HTTP." },
    { name: "tls-private-key-file", type: "string", value: "PATH", description: "Its key." },
    { name: "token-file", type: "string", value: "PATH", description: "A file holding the bearer token callers must send." },
    { name: "url-file", type: "string", value: "PATH", description: "Where to write the URL once listening." },
  ],
  args: "none",
  packages: [],
  async run({ flags, cwd }) {
    const abs = (p: string) => (p.startsWith("/") ? p : `${cwd}/${p}`);
    const cfg = await clientConfig(flags, cwd);
    const dataDir = abs(flags["data-dir"] as string);
    await Deno.mkdir(dataDir, { recursive: true });
    const certFile = flags["tls-cert-file"] as string | undefined;
    const keyFile = flags["tls-private-key-file"] as string | undefined;
    const tls = certFile && keyFile
      ? { cert: await Deno.readTextFile(abs(certFile)), key: await Deno.readTextFile(abs(keyFile)) }
      : undefined;
    const tokenFile = flags["token-file"] as string | undefined;
    const token = tokenFile ? (await Deno.readTextFile(abs(tokenFile))).trim() : undefined;
    // A kubeconfig's token is read again when the file changes (`./skiff up` renews it).
    const kubeconfig = flags.kubeconfig as string | undefined;
    const token$ = kubeconfig && cfg.token
      ? rotatingKubeconfigCredentials(abs(kubeconfig), kubeconfigCredentials).token
      : cfg.token;
    using client = new Client({
      server: cfg.server,
      token: token$,
      caCerts: cfg.caCert ? [cfg.caCert] : undefined,
      userAgent: "skiff-plugin-host",
    });
    await using host = new PluginHost({ dataDir, pull: registryPull(`${dataDir}/blobs`), client, token });
    const { signal, dispose } = shutdownSignal();
    try {
      const { url, server } = await servePluginHost({
        host,
        port: flags.port as number,
        hostname: flags.hostname as string,
        tls,
      });
      if (flags["url-file"]) await Deno.writeTextFile(abs(flags["url-file"] as string), url + "\n");
      console.log(`plugin-host: ${url}`);
      await host.run(signal);
      await server.shutdown();
      return 0;
    } finally {
      dispose();
    }
  },
};

/** What `./skiff up` starts the plugin host with. */
export interface PluginHostChild {
  supervisor: Supervisor;
  dataDir: string;
  /**
   * The plugin host's kubeconfig: it watches Plugins and writes their status (`./skiff up` gives
   * it the ServiceAccount `skiff-system/plugin-host`, cli/plugin_host_credential.ts).
   */
  kubeconfig: string;
  /** The port to listen on (0, the default: a free one, kept across restarts). */
  port?: number;
  tls?: { certFile: string; keyFile: string };
  tokenFile?: string;
  log(line: string): void;
  signal: AbortSignal;
}

/**
 * Starts `./skiff plugin-host` as a supervised child and keeps it running: when it exits (a
 * crash, an OOM), it is started again on the same port. Resolves to its URL once it listens;
 * rejects only when `signal` aborts first.
 */
export async function supervisePluginHost(ctx: PluginHostChild): Promise<string> {
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
  const urlFile = `${ctx.dataDir}/plugin-host/url`;
  await Deno.mkdir(`${ctx.dataDir}/plugin-host`, { recursive: true });
  await Deno.remove(urlFile).catch(() => {});
  let port = ctx.port ?? 0;
  let first: PromiseWithResolvers<string> | null = Promise.withResolvers<string>();
  const start = () => {
    const child = ctx.supervisor.spawn({
      name: "plugin-host",
      cmd: Deno.execPath(),
      args: [
        "run", "-A", "--config", `${root}/deno.json`, `${root}/cli/plugin_host.ts`,
        "--kubeconfig", ctx.kubeconfig,
        "--data-dir", `${ctx.dataDir}/plugin-host`,
        "--port", String(port),
        "--url-file", urlFile,
        ...(ctx.tls ? ["--tls-cert-file", ctx.tls.certFile, "--tls-private-key-file", ctx.tls.keyFile] : []),
        ...(ctx.tokenFile ? ["--token-file", ctx.tokenFile] : []),
      ],
      logFile: `${ctx.dataDir}/logs/plugin-host.log`,
    });
    child.status.then((s) => {
      if (ctx.signal.aborted) return;
      ctx.log(`skiff: the plugin host exited (${s.signal ?? `code ${s.code}`}); starting it again`);
      setTimeout(() => !ctx.signal.aborted && start(), 200);
    });
  };
  start();
  // Slow machines may take longer than 30 s to start it: say so, and keep waiting until `signal`.
  for (let i = 0; first && !ctx.signal.aborted; i++) {
    if (i === 300) ctx.log(`skiff: the plugin host has not started after 30 s; see ${ctx.dataDir}/logs/plugin-host.log`);
    const text = await Deno.readTextFile(urlFile).catch(() => "");
    if (text.trim()) {
      port = Number(new URL(text.trim()).port);
      first.resolve(text.trim());
      const url = await first.promise;
      first = null;
      return url;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`stopped before the plugin host started; see ${ctx.dataDir}/logs/plugin-host.log`);
}

if (import.meta.main) {
  const { parseCommandArgs } = await import("./args.ts");
  const parsed = parseCommandArgs(pluginHostCommand, Deno.args);
  if (parsed.kind !== "run") {
    console.error(parsed.kind === "error" ? parsed.message : "usage: ./skiff plugin-host --help");
    Deno.exit(2);
  }
  Deno.exit(await pluginHostCommand.run({ root: "", cwd: Deno.cwd(), flags: parsed.flags, args: parsed.args, commands: [pluginHostCommand] }));
}
