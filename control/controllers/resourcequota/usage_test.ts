import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { add, lessThanOrEqual, prettyPrint, subtractNonNegative } from "./resource_list.ts";
import { calculateUsage } from "./resourcequota_controller.ts";
import { podEvaluator, pvcEvaluator, resourcesOfQuota, serviceEvaluator } from "./usage.ts";

Deno.test("resource lists add, subtract and compare exactly, keeping a binary format after zero", () => {
  assert.deepEqual(add({ memory: "0", cpu: "100m" }, { memory: "128Mi", cpu: "0.9" }), {
    memory: "128Mi",
    cpu: "1",
  });
  assert.deepEqual(subtractNonNegative({ pods: "1" }, { pods: "3" }), { pods: "0" });
  assert.deepEqual(lessThanOrEqual({ pods: "3", cpu: "1" }, { pods: "2" }), [false, ["pods"]]);
  assert.equal(prettyPrint({ "requests.cpu": "500m", pods: "1" }), "pods=1,requests.cpu=500m");
});

Deno.test("a pod charges compute from its effective requests and limits, and nothing once finished", () => {
  const pod: KubeObject = {
    metadata: { name: "p" },
    spec: {
      containers: [{
        name: "a",
        resources: { requests: { cpu: "100m", "example.com/gpu": "1" }, limits: { memory: "1Gi" } },
      }],
      initContainers: [{ name: "i", resources: { requests: { cpu: "1" } } }],
      overhead: { cpu: "50m" },
    },
  };
  assert.deepEqual(podEvaluator.usage(pod, 0), {
    "count/pods": "1",
    pods: "1",
    cpu: "1050m",
    "requests.cpu": "1050m",
    "limits.memory": "1Gi",
    "requests.example.com/gpu": "1",
  });
  assert.deepEqual(podEvaluator.usage({ ...pod, status: { phase: "Succeeded" } }, 0), { "count/pods": "1" });
});

Deno.test("Services and PVCs charge their own resource names", () => {
  const svc: KubeObject = {
    metadata: { name: "s" },
    spec: { type: "NodePort", ports: [{ port: 1 }, { port: 2 }] },
  };
  assert.deepEqual(serviceEvaluator.usage(svc, 0), {
    "count/services": "1",
    services: "1",
    "services.loadbalancers": "0",
    "services.nodeports": "2",
  });
  const pvc: KubeObject = {
    metadata: { name: "c" },
    spec: { storageClassName: "fast", resources: { requests: { storage: "5Gi" } } },
  };
  assert.deepEqual(pvcEvaluator.usage(pvc, 0), {
    "count/persistentvolumeclaims": "1",
    persistentvolumeclaims: "1",
    "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
    "requests.storage": "5Gi",
    "fast.storageclass.storage.k8s.io/requests.storage": "5Gi",
  });
});

Deno.test("calculateUsage() sums the objects a quota counts, with zero for names nothing uses", () => {
  const hard = { pods: "10", "requests.memory": "1Gi", "count/deployments.apps": "3", secrets: "5" };
  assert.deepEqual(resourcesOfQuota(Object.keys(hard)).map((g) => `${g.resource}.${g.group}`), [
    "pods.",
    "deployments.apps",
    "secrets.",
  ]);
  const quota: KubeObject = { metadata: { name: "q" }, spec: { hard } };
  const pod = (mem: string, phase = "Running"): KubeObject => ({
    metadata: { name: mem },
    spec: { containers: [{ name: "c", resources: { requests: { memory: mem } } }] },
    status: { phase },
  });
  const used = calculateUsage(
    quota,
    new Map([
      ["pods", [pod("128Mi"), pod("256Mi"), pod("1Gi", "Failed")]],
      ["deployments.apps", [{ metadata: { name: "d" } }]],
    ]),
    0,
  );
  assert.deepEqual(used, {
    pods: "2",
    "requests.memory": "384Mi",
    "count/deployments.apps": "1",
    secrets: "0",
  });
});
