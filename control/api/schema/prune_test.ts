import assert from "node:assert/strict";
import type { KubeObject } from "../types.ts";
import { pruneUnknown, unknownFields } from "./prune.ts";

const deployment = () => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { "any/key": "x" }, annotations: { a: "b" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          { name: "web", image: "nginx", ports: [{ containerPort: 80 }] },
          { name: "side", image: "busybox", env: [{ name: "A", value: "1" }] },
        ],
      },
    },
  },
});

Deno.test("unknownFields() finds nothing in a valid Deployment", () => {
  assert.deepEqual(unknownFields(deployment(), "V1Deployment"), []);
});

Deno.test("unknownFields() reports unknown fields in document order with upstream's paths, nested containers included", () => {
  const d = deployment() as KubeObject;
  d.spec.foo = 1;
  d.spec.template.spec.containers[1].bogus = true;
  d.spec.template.spec.containers[0].ports[0].hostPorts = 1;
  d.spec.template.spec.containers[1].env[0].valueFrom = { secretKeyRef: { name: "s", key: "k", extra: 1 } };
  d.metadata.nam = "typo";
  d.status = { replicas: 1, ready: 1 };
  d.extra = {};
  assert.deepEqual(unknownFields(d, "V1Deployment"), [
    "metadata.nam",
    "spec.template.spec.containers[0].ports[0].hostPorts",
    "spec.template.spec.containers[1].env[0].valueFrom.secretKeyRef.extra",
    "spec.template.spec.containers[1].bogus",
    "spec.foo",
    "status.ready",
    "extra",
  ]);
  assert.equal(d.spec.foo, 1, "unknownFields() leaves the object alone");
});

Deno.test("unknownFields() lets map keys be anything but checks map values", () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { labels: { "whatever.io/k": "v" } },
    spec: {
      nodeSelector: { "kubernetes.io/os": "linux" },
      containers: [{ name: "c", resources: { limits: { cpu: "1", "example.com/gpu": 2 } } }],
      overhead: { memory: "1Mi" },
    },
  };
  assert.deepEqual(unknownFields(pod, "V1Pod"), []);
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "foos.example.com" },
    spec: {
      group: "example.com",
      names: { plural: "foos", kind: "Foo" },
      scope: "Namespaced",
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { spec: { type: "object", typo: 1, "x-kubernetes-preserve-unknown-fields": true } },
          },
        },
      }],
    },
  };
  assert.deepEqual(unknownFields(crd, "V1CustomResourceDefinition"), [
    "spec.versions[0].schema.openAPIV3Schema.properties.spec.typo",
  ]);
});

Deno.test("unknownFields() accepts anything under fields typed any", () => {
  const event = {
    metadata: { name: "x", managedFields: [{ manager: "m", fieldsV1: { "f:spec": { "f:foo": {} } } }] },
  };
  assert.deepEqual(unknownFields(event, "V1ConfigMap"), []);
  const review = {
    apiVersion: "v1",
    kind: "Status",
    metadata: {},
    details: { causes: [{ field: "f", x: 1 }] },
  };
  assert.deepEqual(unknownFields(review, "V1Status"), ["details.causes[0].x"]);
});

Deno.test("unknownFields() always knows apiVersion, kind and metadata at the top level", () => {
  assert.deepEqual(
    unknownFields({ apiVersion: "v1", kind: "Binding", metadata: {}, target: {} }, "V1Binding"),
    [],
  );
  assert.deepEqual(unknownFields({ metadata: {}, spec: { apiVersion: "x" } }, "V1Deployment"), [
    "spec.apiVersion",
  ]);
});

Deno.test("unknownFields() ignores values of the wrong JSON type", () => {
  assert.deepEqual(unknownFields({ metadata: {}, spec: "not an object" }, "V1Pod"), []);
  assert.deepEqual(unknownFields({ metadata: {}, spec: { containers: { name: "c" } } }, "V1Pod"), []);
});

Deno.test("pruneUnknown() removes unknown fields in place and returns their paths", () => {
  const d = deployment() as KubeObject;
  d.spec.template.spec.containers[0].bogus = 1;
  d.spec.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxSurgeTypo: 1 } };
  assert.deepEqual(pruneUnknown(d, "V1Deployment"), [
    "spec.template.spec.containers[0].bogus",
    "spec.strategy.rollingUpdate.maxSurgeTypo",
  ]);
  assert.equal("bogus" in d.spec.template.spec.containers[0], false);
  assert.deepEqual(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%" } });
  assert.deepEqual(pruneUnknown(d, "V1Deployment"), []);
});

Deno.test("pruneUnknown() refuses a type the table does not have", () => {
  assert.throws(() => pruneUnknown({}, "V1Nope"), /no type V1Nope/);
});
