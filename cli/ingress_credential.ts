/**
 * The Ingress controller's credential, which `./skiff up` keeps as the cluster admin: a token of
 * the ServiceAccount `skiff-system/ingress-controller` (node/proxy/rbac.ts) in
 * `<data-dir>/ingress.kubeconfig`, valid one day and re-issued at 80 % of its life while `up` runs.
 * The node agent reads the file again when it changes (`--ingress-kubeconfig`), so the Ingress
 * controller never acts with the node's credential, and the node's credential never reads Secrets
 * it has no pod for.
 * @module
 */
import { dirname } from "node:path";
import { Client } from "../control/api/client.ts";
import { ingressControllerToken } from "../node/proxy/rbac.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterPki } from "./pki.ts";

const LIFETIME_S = 24 * 3600;

/** Writes `<data-dir>/ingress.kubeconfig` now and keeps it fresh until disposed. */
export async function ingressCredentials(
  server: string,
  pki: ClusterPki,
  dataDir: string,
  log: (line: string) => void,
): Promise<{ path: string } & Disposable> {
  const path = `${dataDir}/ingress.kubeconfig`;
  const issue = async () => {
    using client = new Client({ server, token: pki.adminToken, caCerts: [pki.caCert], userAgent: "skiff-up" });
    const { token } = await ingressControllerToken(client, LIFETIME_S);
    await writeKubeconfig(path, server, {
      caCert: pki.caCert,
      token,
      user: "system:serviceaccount:skiff-system:ingress-controller",
    });
  };
  await issue();
  const timer = setInterval(() => {
    issue().catch((e) => log(`skiff: renewing the Ingress controller's token failed: ${(e as Error).message}`));
  }, LIFETIME_S * 800);
  Deno.unrefTimer(timer);
  return { path, [Symbol.dispose]: () => clearInterval(timer) };
}

/**
 * The Ingress controller's credentials from its kubeconfig, for the node agent: the token is read
 * again when the file changed (checked at most every 10 s), so `up`'s renewals take effect.
 * `kubeconfigCredentials` is cli/node.ts's parser (passed in: node.ts imports this file).
 */
export function ingressKubeconfigCredentials(
  path: string,
  kubeconfigCredentials: (text: string, dir: string) => { server?: string; token?: string; caCert?: string },
): { server?: string; caCert?: string; token: () => string } {
  const read = () => kubeconfigCredentials(Deno.readTextFileSync(path), dirname(path));
  const first = read();
  if (!first.token) throw new Error(`${path} holds no token`);
  let token = first.token;
  let mtime = Deno.statSync(path).mtime?.getTime();
  let checked = Date.now();
  return {
    server: first.server,
    caCert: first.caCert,
    token: () => {
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
    },
  };
}
