/**
 * The Ingress controller's credential: a token of the ServiceAccount
 * `skiff-system/ingress-controller` (node/proxy/rbac.ts) in a kubeconfig.
 *
 * - `./skiff up` issues one (valid one day) as the cluster admin into
 *   `<data-dir>/ingress.kubeconfig` each time it starts, and passes the file to its node agent
 *   (`--ingress-kubeconfig`); `./skiff node join` has the joining node issue one with its new
 *   node credential (the nodes may mint tokens of this account, node/proxy/rbac.ts) into the
 *   node's `<data-dir>/ingress.kubeconfig`.
 * - Every node agent given such a file (`./skiff up`'s and `./skiff node`'s alike) renews the token
 *   itself at 80 % of its life: a TokenRequest for the account made with the account's current
 *   token (the account may create tokens of itself and of no other account), written back to the
 *   file, with the same lifetime. When that fails because the token has lapsed (the node was down
 *   past its expiry), the node's own credential requests the new one. The agent reads the file
 *   again when it changes, so an administrator may also replace it by hand.
 *
 * So the Ingress controller never acts with the node's credential, and the node's credential never
 * reads Secrets it has no pod for.
 * @module
 */
import { dirname } from "node:path";
import { Client } from "../control/api/client.ts";
import { isApiError } from "../control/api/status.ts";
import { INGRESS_ACCOUNT, INGRESS_NAMESPACE, ingressControllerToken } from "../node/proxy/rbac.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterPki } from "./pki.ts";

const LIFETIME_S = 24 * 3600;
/** TokenRequest's shortest lifetime. */
const MIN_LIFETIME_S = 600;
const USER = `system:serviceaccount:${INGRESS_NAMESPACE}:${INGRESS_ACCOUNT}`;

/** The Ingress controller's kubeconfig in a data dir. */
export function ingressKubeconfigPath(dataDir: string): string {
  return `${dataDir}/ingress.kubeconfig`;
}

/**
 * Writes a kubeconfig at `path` holding a fresh token of the account (one day), requested with
 * `creds.token`: the admin's, a node's, or the account's own. Returns the token.
 */
export async function issueIngressKubeconfig(
  path: string,
  creds: { server: string; caCert?: string; token: string },
  opts: { lifetimeSeconds?: number; userAgent?: string } = {},
): Promise<string> {
  using client = new Client({
    server: creds.server,
    token: creds.token,
    caCerts: creds.caCert ? [creds.caCert] : undefined,
    userAgent: opts.userAgent ?? "skiff-node/ingress-controller",
  });
  const { token } = await ingressControllerToken(client, opts.lifetimeSeconds ?? LIFETIME_S);
  await writeKubeconfig(path, creds.server, { caCert: creds.caCert, token, user: USER });
  return token;
}

/** Writes `<data-dir>/ingress.kubeconfig` with a fresh token; the node agent renews it from then on. */
export async function ingressCredentials(
  server: string,
  pki: ClusterPki,
  dataDir: string,
  _log: (line: string) => void,
): Promise<{ path: string } & Disposable> {
  const path = ingressKubeconfigPath(dataDir);
  await issueIngressKubeconfig(path, { server, caCert: pki.caCert, token: pki.adminToken }, { userAgent: "skiff-up" });
  return { path, [Symbol.dispose]: () => {} };
}

/** A JWT's claims (unverified: only to plan renewals), or undefined when it is no JWT. Pure. */
function claims(token: string): Record<string, unknown> | undefined {
  try {
    const part = token.split(".")[1];
    if (!part) return undefined;
    const c = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=")));
    return c && typeof c === "object" ? c : undefined;
  } catch {
    return undefined;
  }
}

/** A JWT's `iat` and `exp` claims (seconds), or undefined when it has not both. Pure. */
export function tokenLifetime(token: string): { iat: number; exp: number } | undefined {
  const { iat, exp } = claims(token) ?? {};
  return typeof iat === "number" && typeof exp === "number" && exp > iat ? { iat, exp } : undefined;
}

/** Whether a token is one of the Ingress controller's account (its `sub`), which renews itself. Pure. */
export function isIngressControllerToken(token: string): boolean {
  return claims(token)?.sub === USER;
}

/** When to renew a token (ms since the epoch): at 80 % of its life; undefined for a token without `iat`/`exp`. Pure. */
export function renewalTime(token: string): number | undefined {
  const l = tokenLifetime(token);
  return l ? (l.iat + 0.8 * (l.exp - l.iat)) * 1000 : undefined;
}

/** Whether a token's `exp` has passed (at `now`, ms). Pure. */
export function tokenExpired(token: string, now = Date.now()): boolean {
  const l = tokenLifetime(token);
  return l !== undefined && l.exp * 1000 <= now;
}

/**
 * Renews the account's token (TokenRequest, same lifetime) and writes it to the kubeconfig at
 * `path`: with the token itself while it is valid; with `creds.nodeToken` (the node's credential)
 * when it has expired or the API server refuses it. Returns the new token.
 */
export async function renewIngressToken(
  path: string,
  creds: { server: string; caCert?: string; token: string; nodeToken?: string },
): Promise<string> {
  const l = tokenLifetime(creds.token);
  const lifetimeSeconds = Math.max(MIN_LIFETIME_S, l ? l.exp - l.iat : LIFETIME_S);
  const issue = (token: string) => issueIngressKubeconfig(path, { ...creds, token }, { lifetimeSeconds });
  if (!creds.nodeToken) return await issue(creds.token);
  if (tokenExpired(creds.token)) return await issue(creds.nodeToken);
  try {
    return await issue(creds.token);
  } catch (e) {
    if (!isApiError(e, 401) && !/: 401 /.test((e as Error).message)) throw e;
    return await issue(creds.nodeToken);
  }
}

/**
 * Credentials from a kubeconfig whose token rotates: the token is read again when the file changed
 * (checked at most every 10 s). For the node agent's Ingress controller, a token of its
 * ServiceAccount is also renewed (`renewIngressToken`) once 80 % of its life has passed (checked
 * every minute; a failure is logged and retried); tokens of other accounts (the plugin host's,
 * cli/plugin_host.ts) are only read. `kubeconfigCredentials` is cli/node.ts's parser (passed in:
 * node.ts imports this file).
 */
export function ingressKubeconfigCredentials(
  path: string,
  kubeconfigCredentials: (text: string, dir: string) => { server?: string; token?: string; caCert?: string },
  opts: {
    renew?: boolean;
    log?: (line: string) => void;
    /** The node's current credential, to request a new token when the file's has lapsed. */
    nodeToken?: () => string | undefined;
  } = {},
): { server?: string; caCert?: string; token: () => string } {
  const read = () => kubeconfigCredentials(Deno.readTextFileSync(path), dirname(path));
  const first = read();
  if (!first.token) throw new Error(`${path} holds no token`);
  let token = first.token;
  let mtime = Deno.statSync(path).mtime?.getTime();
  let checked = Date.now();
  const current = () => {
    if (Date.now() - checked < 10_000) return token;
    checked = Date.now();
    try {
      const m = Deno.statSync(path).mtime?.getTime();
      if (m !== mtime) {
        token = read().token ?? token;
        mtime = m;
      }
    } catch { /* keep the last token */ }
    return token;
  };
  const log = opts.log ?? ((line: string) => console.error(line));
  if (opts.renew !== false && first.server && isIngressControllerToken(first.token)) {
    const server = first.server;
    let renewing = false;
    const check = async () => {
      const t = current();
      const due = renewalTime(t);
      if (renewing || due === undefined || Date.now() < due) return;
      renewing = true;
      try {
        token = await renewIngressToken(path, { server, caCert: first.caCert, token: t, nodeToken: opts.nodeToken?.() });
        mtime = Deno.statSync(path).mtime?.getTime();
      } catch (e) {
        log(`skiff: renewing the Ingress controller's token failed: ${(e as Error).message}`);
      } finally {
        renewing = false;
      }
    };
    const timer = setInterval(check, 60_000);
    Deno.unrefTimer(timer);
    // A token already due (the node was down) is renewed now, not a minute later.
    if ((renewalTime(first.token) ?? Infinity) <= Date.now()) void check();
  }
  return { server: first.server, caCert: first.caCert, token: current };
}
