/**
 * The plugin host's identity on `./skiff up`: the ServiceAccount `skiff-system/plugin-host`, bound
 * to the ClusterRole `skiff:plugin-host` (Plugins get/list/watch, `plugins/status` update/patch:
 * it watches Plugins and writes their status, nothing else). `up` creates them as the cluster
 * admin, writes a token of that account to `<data-dir>/plugin-host.kubeconfig` (valid one day,
 * re-issued at 80 % of its life while `up` runs), and the plugin host reads the file again when it
 * changes. So the plugin host, which pulls and runs third-party code, never holds the admin token.
 *
 * For a plugin host of a cluster of your own:
 *
 * ```sh
 * kubectl create namespace skiff-system
 * kubectl -n skiff-system create serviceaccount plugin-host
 * kubectl create clusterrole skiff:plugin-host --verb=get,list,watch --resource=plugins.skiff.dev
 * # plus update/patch on plugins/status (kubectl create clusterrole cannot name subresources)
 * kubectl create clusterrolebinding skiff:plugin-host --clusterrole=skiff:plugin-host --serviceaccount=skiff-system:plugin-host
 * kubectl -n skiff-system create token plugin-host --duration 24h
 * ```
 * @module
 */
import { Client, R, type ResourceRef } from "../control/api/client.ts";
import { isApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterPki } from "./pki.ts";

export const PLUGIN_HOST_ROLE = "skiff:plugin-host";
export const PLUGIN_HOST_NAMESPACE = "skiff-system";
export const PLUGIN_HOST_ACCOUNT = "plugin-host";
/** The user the API server sees. */
export const PLUGIN_HOST_USER = `system:serviceaccount:${PLUGIN_HOST_NAMESPACE}:${PLUGIN_HOST_ACCOUNT}`;

const LIFETIME_S = 24 * 3600;
const RBAC_GROUP = "rbac.authorization.k8s.io";
const rbac = (plural: string): ResourceRef => ({
  group: RBAC_GROUP,
  version: "v1",
  plural,
  namespaced: false,
});

/** The role and its binding. Pure. */
export function pluginHostRbacObjects(): { role: KubeObject; binding: KubeObject } {
  return {
    role: {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: "ClusterRole",
      metadata: { name: PLUGIN_HOST_ROLE },
      rules: [
        { apiGroups: ["skiff.dev"], resources: ["plugins"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["skiff.dev"], resources: ["plugins/status"], verbs: ["update", "patch"] },
      ],
    },
    binding: {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: PLUGIN_HOST_ROLE },
      roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: PLUGIN_HOST_ROLE },
      subjects: [{ kind: "ServiceAccount", name: PLUGIN_HOST_ACCOUNT, namespace: PLUGIN_HOST_NAMESPACE }],
    },
  };
}

async function createOrUpdate(client: Client, ref: ResourceRef, obj: KubeObject): Promise<void> {
  try {
    await client.create(ref, obj);
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
    const current = await client.get(ref, "", obj.metadata.name!);
    await client.update(ref, { ...current, ...obj, metadata: { ...current.metadata, ...obj.metadata } });
  }
}

async function createIfMissing(client: Client, ref: ResourceRef, obj: KubeObject): Promise<void> {
  try {
    await client.create(ref, obj);
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

/** Creates or updates the namespace, ServiceAccount, role and binding. Idempotent; needs an admin client. */
export async function ensurePluginHostRbac(client: Client): Promise<void> {
  await createIfMissing(client, R.namespaces, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: PLUGIN_HOST_NAMESPACE },
  });
  await createIfMissing(client, R.serviceaccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: PLUGIN_HOST_ACCOUNT, namespace: PLUGIN_HOST_NAMESPACE },
  });
  const { role, binding } = pluginHostRbacObjects();
  await createOrUpdate(client, rbac("clusterroles"), role);
  await createOrUpdate(client, rbac("clusterrolebindings"), binding);
}

/** A token of the plugin host's ServiceAccount (TokenRequest). */
export async function pluginHostToken(client: Client, expirationSeconds = LIFETIME_S): Promise<string> {
  const res = await client.request(
    "POST",
    `/api/v1/namespaces/${PLUGIN_HOST_NAMESPACE}/serviceaccounts/${PLUGIN_HOST_ACCOUNT}/token`,
    { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds } },
  );
  const body = await res.json();
  if (!res.ok || !body?.status?.token) {
    throw new Error(
      `TokenRequest for ${PLUGIN_HOST_NAMESPACE}/${PLUGIN_HOST_ACCOUNT} failed: ${res.status} ${
        body?.message ?? ""
      }`,
    );
  }
  return body.status.token;
}

/**
 * Creates the plugin host's RBAC, writes `<data-dir>/plugin-host.kubeconfig` now and keeps its
 * token fresh until disposed.
 */
export async function pluginHostCredentials(
  server: string,
  pki: ClusterPki,
  dataDir: string,
  log: (line: string) => void,
): Promise<{ path: string } & Disposable> {
  const path = `${dataDir}/plugin-host.kubeconfig`;
  const admin = () =>
    new Client({ server, token: pki.adminToken, caCerts: [pki.caCert], userAgent: "skiff-up" });
  {
    using client = admin();
    await ensurePluginHostRbac(client);
  }
  const issue = async () => {
    using client = admin();
    const token = await pluginHostToken(client);
    await writeKubeconfig(path, server, { caCert: pki.caCert, token, user: PLUGIN_HOST_USER });
  };
  await issue();
  const timer = setInterval(() => {
    issue().catch((e) => log(`skiff: renewing the plugin host's token failed: ${(e as Error).message}`));
  }, LIFETIME_S * 800);
  Deno.unrefTimer(timer);
  return { path, [Symbol.dispose]: () => clearInterval(timer) };
}
