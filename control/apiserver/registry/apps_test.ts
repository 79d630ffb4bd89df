import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { daemonSets, deployments, replicaSets, statefulSets } from "./apps.ts";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const create = { operation: "CREATE" as const };

function deployment(extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      creationTimestamp: new Date(NOW - 3_600_000).toISOString(),
    },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
      },
      ...extra,
    },
  };
}

const messages = (errs: { field?: string; message?: string }[]) =>
  errs.map((c) => `${c.field}: ${c.message}`);

Deno.test("deployments.defaults() applies upstream's Deployment defaults", () => {
  const d = deployment();
  deployments.defaults!(d, create);
  const { template, ...rest } = d.spec;
  assert.deepEqual(rest, {
    selector: { matchLabels: { app: "web" } },
    replicas: 1,
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
  });
  assert.equal(template.spec.restartPolicy, "Always");
  assert.equal(template.spec.containers[0].imagePullPolicy, "IfNotPresent");
  assert.equal(template.spec.enableServiceLinks, undefined);
  assert.deepEqual(d.status, {});
});

Deno.test("deployments.defaults() keeps a Recreate strategy without rollingUpdate", () => {
  const d = deployment({ strategy: { type: "Recreate" }, replicas: 3 });
  deployments.defaults!(d, create);
  assert.deepEqual(d.spec.strategy, { type: "Recreate" });
  assert.equal(d.spec.replicas, 3);
});

Deno.test("deployments.validate() accepts a defaulted deployment", () => {
  const d = deployment();
  deployments.defaults!(d, create);
  assert.deepEqual(deployments.validate!(d), []);
});

Deno.test("deployments.validate() rejects a selector that does not match the template labels", () => {
  const d = deployment({ selector: { matchLabels: { app: "api" } } });
  deployments.defaults!(d, create);
  assert.deepEqual(messages(deployments.validate!(d)), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
  ]);
});

Deno.test("deployments.validate() requires a selector and non-negative replicas", () => {
  const d = deployment({ selector: undefined, replicas: -1 });
  deployments.defaults!(d, create);
  assert.deepEqual(messages(deployments.validate!(d)), [
    "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    "spec.selector: Required value",
  ]);
});

Deno.test("deployments.validate() rejects a template restartPolicy other than Always", () => {
  const d = deployment();
  d.spec.template.spec.restartPolicy = "Never";
  deployments.defaults!(d, create);
  assert.deepEqual(messages(deployments.validate!(d)), [
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  ]);
});

Deno.test("deployments.validate() rejects zero maxUnavailable with zero maxSurge", () => {
  const d = deployment({
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } },
  });
  deployments.defaults!(d, create);
  assert.deepEqual(messages(deployments.validate!(d)), [
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
  ]);
});

Deno.test("deployments.validate() reports a changed selector as immutable, in upstream's words", () => {
  const old = deployment();
  deployments.defaults!(old, create);
  const next = structuredClone(old);
  next.spec.selector = { matchLabels: { app: "web2" } };
  next.spec.template.metadata.labels = { app: "web2" };
  assert.deepEqual(messages(deployments.validate!(next, old)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
});

Deno.test("deployments.table renders READY UP-TO-DATE AVAILABLE AGE and the wide columns", () => {
  const d = deployment();
  deployments.defaults!(d, create);
  d.spec.replicas = 3;
  d.status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
  assert.deepEqual(deployments.table!.columns.map((c) => c.name), [
    "Name",
    "Ready",
    "Up-to-date",
    "Available",
    "Age",
    "Containers",
    "Images",
    "Selector",
  ]);
  assert.deepEqual(deployments.table!.cells(d, NOW), [
    "web",
    "2/3",
    3,
    2,
    "60m",
    "web",
    "nginx:1.27",
    "app=web",
  ]);
});

Deno.test("replicaSets expose status.replicas as a selectable field and format their selector", () => {
  const rs: KubeObject = {
    metadata: { name: "web-abc", namespace: "default" },
    spec: {
      replicas: 2,
      selector: { matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }] },
    },
    status: { replicas: 2, readyReplicas: 1 },
  };
  assert.deepEqual(replicaSets.fields!(rs), { "status.replicas": "2" });
  assert.equal(replicaSets.table!.cells(rs, NOW)[7], "tier in (a,b)");
});

Deno.test("daemonSets.defaults() uses RollingUpdate with maxUnavailable 1 and maxSurge 0", () => {
  const ds = deployment();
  daemonSets.defaults!(ds, create);
  assert.deepEqual(ds.spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.deepEqual(daemonSets.validate!(ds), []);
});

Deno.test("statefulSets.defaults() fills policies, partition and claim template defaults", () => {
  const sts = deployment({
    serviceName: "web",
    volumeClaimTemplates: [{
      metadata: { name: "data" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }],
  });
  sts.spec.template.spec.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }];
  statefulSets.defaults!(sts, create);
  assert.equal(sts.spec.podManagementPolicy, "OrderedReady");
  assert.deepEqual(sts.spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { partition: 0 } });
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: "Retain",
    whenScaled: "Retain",
  });
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.volumeMode, "Filesystem");
  assert.deepEqual(sts.spec.volumeClaimTemplates[0].status, { phase: "Pending" });
  assert.deepEqual(statefulSets.validate!(sts), []);
});

Deno.test("statefulSets.validate() forbids changing fields other than the mutable ones", () => {
  const old = deployment({ serviceName: "web" });
  statefulSets.defaults!(old, create);
  const next = structuredClone(old);
  next.spec.serviceName = "other";
  const errs = statefulSets.validate!(next, old);
  assert.deepEqual(messages(errs), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
});
