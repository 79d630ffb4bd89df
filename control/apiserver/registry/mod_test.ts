import assert from "node:assert/strict";
import { resourceKey } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { builtinResources } from "./mod.ts";

const defs = builtinResources();
const NOW = Date.parse("2024-05-01T12:00:00Z");
const byKey = new Map(defs.map((d) => [resourceKey(d), d]));

Deno.test("builtinResources() registers every resource the API serves", () => {
  assert.deepEqual([...byKey.keys()].sort(), [
    "clusterrolebindings.rbac.authorization.k8s.io",
    "clusterroles.rbac.authorization.k8s.io",
    "configmaps",
    "controllerrevisions.apps",
    "cronjobs.batch",
    "csidrivers.storage.k8s.io",
    "customresourcedefinitions.apiextensions.k8s.io",
    "daemonsets.apps",
    "deployments.apps",
    "endpoints",
    "endpointslices.discovery.k8s.io",
    "events",
    "events.events.k8s.io",
    "ingressclasses.networking.k8s.io",
    "ingresses.networking.k8s.io",
    "jobs.batch",
    "leases.coordination.k8s.io",
    "limitranges",
    "namespaces",
    "networkpolicies.networking.k8s.io",
    "nodes",
    "persistentvolumeclaims",
    "persistentvolumes",
    "plugins.skiff.dev",
    "poddisruptionbudgets.policy",
    "pods",
    "podtemplates",
    "priorityclasses.scheduling.k8s.io",
    "replicasets.apps",
    "resourcequotas",
    "rolebindings.rbac.authorization.k8s.io",
    "roles.rbac.authorization.k8s.io",
    "runtimeclasses.node.k8s.io",
    "secrets",
    "selfsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectreviews.authentication.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io",
    "serviceaccounts",
    "services",
    "statefulsets.apps",
    "storageclasses.storage.k8s.io",
    "subjectaccessreviews.authorization.k8s.io",
    "tokenreviews.authentication.k8s.io",
    "volumeattachments.storage.k8s.io",
  ]);
  assert.equal(byKey.size, defs.length, "no resource is registered twice");
});

Deno.test("every ResourceDef carries the fields discovery needs", () => {
  for (const d of defs) {
    const key = resourceKey(d);
    // Skiff's own kinds are alpha (skiff.dev/v1alpha1); upstream's are v1.
    assert.equal(d.version, d.group === "skiff.dev" ? "v1alpha1" : "v1", key);
    assert.match(d.kind, /^[A-Z][A-Za-z]+$/, key);
    assert.equal(d.listKind, `${d.kind}List`, key);
    assert.match(d.plural, /^[a-z]+$/, key);
    assert.equal(d.singular, d.kind.toLowerCase(), key);
    assert.equal(typeof d.namespaced, "boolean", key);
    assert.ok(d.schema || d.pruneUnknown, `${key} names its schema or prunes itself`);
    assert.ok(d.table && d.table.columns.length > 0, `${key} has a table`);
  }
});

Deno.test("every schema names a @kubernetes/client-node model", async () => {
  const models = new URL("../../../node_modules/@kubernetes/client-node/dist/gen/models/", import.meta.url);
  for (const d of defs) {
    if (d.pruneUnknown) continue; // Skiff's own kinds prune and validate themselves (no upstream model)
    const stat = await Deno.stat(new URL(`${d.schema}.d.ts`, models)).catch(() => undefined);
    assert.ok(stat?.isFile, `${resourceKey(d)}: ${d.schema}`);
  }
});

Deno.test("scope, short names and categories match upstream", () => {
  const cluster = defs.filter((d) => !d.namespaced).map(resourceKey).sort();
  assert.deepEqual(cluster, [
    "clusterrolebindings.rbac.authorization.k8s.io",
    "clusterroles.rbac.authorization.k8s.io",
    "csidrivers.storage.k8s.io",
    "customresourcedefinitions.apiextensions.k8s.io",
    "ingressclasses.networking.k8s.io",
    "namespaces",
    "nodes",
    "persistentvolumes",
    "plugins.skiff.dev",
    "priorityclasses.scheduling.k8s.io",
    "runtimeclasses.node.k8s.io",
    "selfsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectreviews.authentication.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io",
    "storageclasses.storage.k8s.io",
    "subjectaccessreviews.authorization.k8s.io",
    "tokenreviews.authentication.k8s.io",
    "volumeattachments.storage.k8s.io",
  ]);
  const short = (k: string) => byKey.get(k)!.shortNames;
  assert.deepEqual(short("pods"), ["po"]);
  assert.deepEqual(short("deployments.apps"), ["deploy"]);
  assert.deepEqual(short("services"), ["svc"]);
  assert.deepEqual(short("customresourcedefinitions.apiextensions.k8s.io"), ["crd", "crds"]);
  assert.deepEqual(short("ingresses.networking.k8s.io"), ["ing"]);
  assert.deepEqual(short("networkpolicies.networking.k8s.io"), ["netpol"]);
  assert.deepEqual(short("storageclasses.storage.k8s.io"), ["sc"]);
  const all = defs.filter((d) => d.categories?.includes("all")).map(resourceKey).sort();
  assert.deepEqual(all, [
    "cronjobs.batch",
    "daemonsets.apps",
    "deployments.apps",
    "jobs.batch",
    "pods",
    "replicasets.apps",
    "services",
    "statefulsets.apps",
  ]);
});

Deno.test("subresources and generation tracking match upstream", () => {
  assert.deepEqual(byKey.get("pods")!.subresources, {
    status: true,
    other: ["binding", "log", "exec", "attach", "portforward", "eviction", "ephemeralcontainers"],
  });
  assert.deepEqual(byKey.get("namespaces")!.subresources, { status: true, other: ["finalize"] });
  assert.deepEqual(byKey.get("serviceaccounts")!.subresources, { other: ["token"] });
  const scaled = defs.filter((d) => d.subresources?.scale).map(resourceKey).sort();
  assert.deepEqual(scaled, ["deployments.apps", "replicasets.apps", "statefulsets.apps"]);
  assert.equal(byKey.get("deployments.apps")!.subresources!.scale!.specReplicasPath, ".spec.replicas");
  const generation = defs.filter((d) => d.generation).map(resourceKey).sort();
  assert.deepEqual(generation, [
    "cronjobs.batch",
    "customresourcedefinitions.apiextensions.k8s.io",
    "daemonsets.apps",
    "deployments.apps",
    "ingressclasses.networking.k8s.io",
    "ingresses.networking.k8s.io",
    "jobs.batch",
    "networkpolicies.networking.k8s.io",
    "plugins.skiff.dev",
    "poddisruptionbudgets.policy",
    "replicasets.apps",
    "statefulsets.apps",
  ]);
});

Deno.test("tables start with the Name column, except events which lead with Last Seen", () => {
  for (const d of defs) {
    const first = d.table!.columns[0].name;
    assert.equal(first, d.kind === "Event" ? "Last Seen" : "Name", resourceKey(d));
  }
});

Deno.test("selectable fields never repeat metadata.name or metadata.namespace", () => {
  for (const d of defs) {
    if (!d.fields) continue;
    const keys = Object.keys(d.fields({ metadata: { name: "x", namespace: "y" } }));
    assert.ok(!keys.includes("metadata.name") && !keys.includes("metadata.namespace"), resourceKey(d));
    for (const v of Object.values(d.fields({ metadata: { name: "x" } }))) assert.equal(typeof v, "string");
  }
});

Deno.test("defaults, validate and cells survive sparse objects and agree on the column count", () => {
  for (const d of defs) {
    for (const operation of ["CREATE", "UPDATE"] as const) {
      const obj: KubeObject = {
        apiVersion: d.group ? `${d.group}/${d.version}` : d.version,
        kind: d.kind,
        metadata: { name: "x", uid: "u", ...(d.namespaced ? { namespace: "default" } : {}) },
      };
      d.defaults?.(obj, { operation });
      const errs = d.validate?.(obj) ?? [];
      for (const c of errs) assert.ok(c.message, `${resourceKey(d)} causes carry a message`);
      d.validate?.(obj, structuredClone(obj));
      const cells = d.table!.cells(obj, NOW);
      assert.equal(cells.length, d.table!.columns.length, resourceKey(d));
      assert.ok(cells.every((c) => c !== undefined && c !== null), `${resourceKey(d)} cells are never null`);
    }
  }
});
