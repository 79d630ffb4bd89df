/**
 * What every cluster has from its first start: the system namespaces, the `kubernetes` Service
 * and the built-in Plugins (control/api/builtin_plugins.ts).
 * Created through the API itself (as the admin), so defaults and validation apply; idempotent.
 * @module
 */
import type { ApiServer } from "./server.ts";
import { SYSTEM_NAMESPACES } from "./strategies/namespace.ts";
import { nthAddress, parseCidr } from "../api/cidr.ts";
import { BUILTIN_PLUGINS, builtinPluginObject } from "../api/builtin_plugins.ts";

async function ensure(server: ApiServer, path: string, body: unknown): Promise<void> {
  const res = await server.fetch(
    new Request(`http://skiff.internal${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  if (res.status === 201 || res.status === 409) {
    await res.body?.cancel();
    return;
  }
  throw new Error(`bootstrap of ${path} failed: ${res.status} ${await res.text()}`);
}

export async function bootstrap(server: ApiServer): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) {
    await ensure(server, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  await ensure(server, "/api/v1/namespaces/default/services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
    spec: {
      clusterIP: nthAddress(parseCidr(server.serviceCIDR), 1),
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
      sessionAffinity: "None",
      type: "ClusterIP",
    },
  });
  for (const b of BUILTIN_PLUGINS) await ensure(server, "/apis/skiff.dev/v1alpha1/plugins", builtinPluginObject(b));
}
