import assert from "node:assert/strict";
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import { type ConfigLookups, ContainerConfigError, containerEnvironment } from "./env_vars.ts";

const lookups: ConfigLookups = {
  configMap: (
    ns,
    name,
  ) => (ns === "prod" && name === "app" ? { MODE: "fast", "bad key": "x", LEVEL: "3" } : undefined),
  secret: (ns, name) => (ns === "prod" && name === "creds" ? { password: "hunter2" } : undefined),
  allocatable: { cpu: "4", memory: "8Gi" },
};

function pod(container: Container): Pod {
  return {
    metadata: {
      name: "web-0",
      namespace: "prod",
      uid: "u-1",
      labels: { app: "web" },
      annotations: { team: "a" },
    },
    spec: { nodeName: "n1", containers: [container] },
    status: { podIP: "198.18.0.7", hostIP: "127.0.0.1" },
  };
}

Deno.test("containerEnvironment() applies envFrom with a prefix, then env, expanding earlier variables", () => {
  const c: Container = {
    name: "app",
    envFrom: [{ configMapRef: { name: "app" }, prefix: "CFG_" }],
    env: [
      { name: "URL", value: "http://$(HOST):$(CFG_LEVEL)" },
      { name: "HOST", value: "h" },
      { name: "AGAIN", value: "$(HOST)-$(MISSING)" },
    ],
    command: ["run", "--mode=$(CFG_MODE)"],
    args: ["$(AGAIN)", "$$(HOST)"],
  };
  const r = containerEnvironment(pod(c), c, lookups);
  assert.equal(r.env.get("CFG_MODE"), "fast");
  assert.equal(r.env.get("URL"), "http://$(HOST):3", "HOST is not defined yet when URL is");
  assert.equal(r.env.get("AGAIN"), "h-$(MISSING)");
  assert.deepEqual(r.command, ["run", "--mode=fast"]);
  assert.deepEqual(r.args, ["h-$(MISSING)", "$(HOST)"]);
  assert.deepEqual(r.invalidKeys, ["CFG_bad key"]);
});

Deno.test("containerEnvironment() resolves secretKeyRef, fieldRef and resourceFieldRef", () => {
  const c: Container = {
    name: "app",
    resources: { limits: { memory: "64Mi" }, requests: { cpu: "250m" } },
    env: [
      { name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
      { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
      { name: "CPU_M", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
      { name: "CPU_LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
    ],
  };
  const env = Object.fromEntries(containerEnvironment(pod(c), c, lookups).env);
  assert.deepEqual(env, {
    PW: "hunter2",
    POD: "web-0",
    NS: "prod",
    APP: "web",
    IP: "198.18.0.7",
    NODE: "n1",
    MEM: "64",
    CPU_M: "250",
    CPU_LIMIT: "4",
  });
});

Deno.test("containerEnvironment() skips optional references that are missing", () => {
  const c: Container = {
    name: "app",
    envFrom: [{ secretRef: { name: "nope", optional: true } }],
    env: [
      { name: "A", valueFrom: { configMapKeyRef: { name: "nope", key: "k", optional: true } } },
      { name: "B", valueFrom: { configMapKeyRef: { name: "app", key: "absent", optional: true } } },
    ],
  };
  assert.equal(containerEnvironment(pod(c), c, lookups).env.size, 0);
});

Deno.test("containerEnvironment() fails with upstream's messages for missing required references", () => {
  const cases: [Container["env"], string][] = [
    [
      [{ name: "A", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }],
      'configmap "nope" not found',
    ],
    [
      [{ name: "A", valueFrom: { configMapKeyRef: { name: "app", key: "k" } } }],
      "couldn't find key k in ConfigMap prod/app",
    ],
    [[{ name: "A", valueFrom: { secretKeyRef: { name: "nope", key: "k" } } }], 'secret "nope" not found'],
    [
      [{ name: "A", valueFrom: { fieldRef: { fieldPath: "spec.bogus" } } }],
      "unsupported fieldPath: spec.bogus",
    ],
  ];
  for (const [env, message] of cases) {
    const c: Container = { name: "app", env };
    assert.throws(
      () => containerEnvironment(pod(c), c, lookups),
      (e) => e instanceof ContainerConfigError && e.message === message,
    );
  }
});
