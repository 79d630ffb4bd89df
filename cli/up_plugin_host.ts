/**
 * The plugin host of `./skiff up` (docs/plugins.md, "Plugins on ./skiff up").
 *
 * Before the control plane starts, `up` fixes how the callers reach the plugin host
 * ({@linkcode planPluginHost}): a bearer token the callers send
 * (`<data-dir>/pki/plugin-host/callers.token`), HTTPS trusting the cluster CA (which signs the
 * host's serving certificate), and the host's loopback address once it listens. The API server
 * gets the `WasmPlugins` admission step and the in-process scheduler the `WasmPlugins` plugin
 * with them.
 *
 * The plugin host itself ({@linkcode startPluginHostOnDemand}) is started, as a supervised child
 * (restarted when it exits), the first time an admission or scheduler Plugin exists: an `up`
 * without Plugins stays one process and becomes ready as fast as before. It runs as the
 * ServiceAccount `skiff-system/plugin-host` (cli/plugin_host_credential.ts), never as the admin.
 * Until it listens, calls fail as "host unreachable" (with failurePolicy Fail: 500 on admission,
 * FailedScheduling in the scheduler), as they would while it restarts.
 * @module
 */
import { Client } from "../control/api/client.ts";
import { Informer } from "../control/api/informer.ts";
import { type PluginObject, PLUGINS } from "../control/api/plugins.ts";
import { type ClusterPki, issueCertificate, openssl, randomToken } from "./pki.ts";
import { supervisePluginHost } from "./plugin_host.ts";
import { pluginHostCredentials } from "./plugin_host_credential.ts";
import type { Supervisor } from "./supervisor.ts";

/**
 * How callers reach `up`'s plugin host: the callers' options of `wasmAdmission` and
 * `WasmPlugins`. The host picks its port when it starts (on demand, maybe hours after `up`), so
 * `fetch` sends each call to the host's current address, over HTTPS trusting the cluster CA;
 * `url` only names the host in messages.
 */
export interface PluginHostPlan extends Disposable {
  url: string;
  /** The bearer token callers send, and the file the plugin host reads it from. */
  token: string;
  tokenFile: string;
  fetch(req: Request): Promise<Response>;
  /** Where the plugin host listens now (null: not yet), for the callers' channel (control/api/plugin_channel.ts). */
  channelUrl(): string | null;
  /** The cluster CA, which issued the plugin host's serving certificate. */
  caCerts: string[];
  /** Records where the plugin host listens (`https://127.0.0.1:<port>`). */
  listening(url: string): void;
}

/** What callers name the plugin host in their messages. */
const HOST_NAME = "https://plugin-host.skiff-up";

/** Kinds the plugin host serves. */
const HOSTED = new Set(["admission", "scheduler"]);

/** Whether a Plugin needs the plugin host. Pure. */
export function needsPluginHost(p: PluginObject): boolean {
  return HOSTED.has(p.spec?.kind) && !p.metadata.deletionTimestamp;
}

/** Writes a fresh callers' token; calls go nowhere until {@linkcode PluginHostPlan.listening}. */
export async function planPluginHost(pki: Pick<ClusterPki, "dir" | "caCert">): Promise<PluginHostPlan> {
  const dir = `${pki.dir}/plugin-host`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const token = randomToken();
  const tokenFile = `${dir}/callers.token`;
  await Deno.writeTextFile(tokenFile, token + "\n", { mode: 0o600 });
  const client = Deno.createHttpClient({ caCerts: [pki.caCert] });
  let current: string | null = null;
  return {
    url: HOST_NAME,
    token,
    tokenFile,
    async fetch(req) {
      if (!current) {
        throw new Error(
          "it is not running yet (./skiff up starts it when the first admission or scheduler Plugin exists)",
        );
      }
      const { pathname, search } = new URL(req.url);
      const body = req.body ? await req.arrayBuffer() : undefined;
      return await fetch(`${current}${pathname}${search}`, {
        method: req.method,
        headers: req.headers,
        body,
        signal: req.signal,
        client,
      });
    },
    channelUrl: () => current,
    caCerts: [pki.caCert],
    listening(url) {
      current = url;
    },
    [Symbol.dispose]() {
      client.close();
    },
  };
}

/** The plugin host's serving certificate for 127.0.0.1, issued by the cluster CA when missing or expiring. */
async function servingCert(pki: Pick<ClusterPki, "dir">): Promise<{ certFile: string; keyFile: string }> {
  const dir = `${pki.dir}/plugin-host`;
  const certFile = `${dir}/serving.crt`;
  const keyFile = `${dir}/serving.key`;
  const good = await openssl(["x509", "-in", certFile, "-noout", "-checkend", String(30 * 24 * 3600)]).then(
    () => true,
    () => false,
  );
  if (!good) {
    await issueCertificate(pki.dir, dir, "serving", {
      commonName: "skiff-plugin-host",
      sans: ["IP:127.0.0.1", "DNS:localhost"],
      usage: "serverAuth",
    });
  }
  return { certFile, keyFile };
}

/** What {@linkcode startPluginHostOnDemand} needs from `up`. */
export interface OnDemandContext {
  server: string;
  pki: ClusterPki;
  dataDir: string;
  supervisor: Supervisor;
  log(line: string): void;
  /** `up`'s stop signal. */
  signal: AbortSignal;
}

/**
 * Watches Plugins (as the admin, in `up`'s process) and starts the plugin host when the first
 * admission or scheduler Plugin appears (at once if one is stored). Disposing stops the watch and
 * the credential's renewal; the child itself stops with the supervisor.
 */
export function startPluginHostOnDemand(
  plan: PluginHostPlan,
  ctx: OnDemandContext,
): AsyncDisposable & { started(): Promise<string> | null } {
  const client = new Client({
    server: ctx.server,
    token: ctx.pki.adminToken,
    caCerts: [ctx.pki.caCert],
    userAgent: "skiff-up",
  });
  const informer = new Informer<PluginObject>(client, PLUGINS);
  let starting: Promise<string> | null = null;
  let credential: Disposable | undefined;
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const start = () => {
    if (starting || signal.aborted) return;
    starting = (async () => {
      const tls = await servingCert(ctx.pki);
      const cred = await pluginHostCredentials(ctx.server, ctx.pki, ctx.dataDir, ctx.log);
      credential = cred;
      const url = await supervisePluginHost({
        supervisor: ctx.supervisor,
        dataDir: ctx.dataDir,
        kubeconfig: cred.path,
        tls,
        tokenFile: plan.tokenFile,
        log: ctx.log,
        signal,
      });
      plan.listening(url);
      ctx.log(`skiff: the plugin host listens on ${url}`);
      return url;
    })();
    starting.catch((e) => {
      if (!signal.aborted) ctx.log(`skiff: starting the plugin host failed: ${(e as Error).message}`);
    });
  };
  const check = (p: PluginObject) => needsPluginHost(p) && start();
  informer.addHandler({ onAdd: check, onUpdate: (_, p) => check(p) });
  informer.start();
  return {
    started: () => starting,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await informer.stop();
      await starting?.catch(() => {});
      credential?.[Symbol.dispose]();
      client.close();
    },
  };
}
