import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import {
  aggregate,
  applyLimitRangeDefaults,
  podLimitViolations,
  pvcLimitViolations,
} from "./limit_ranger.ts";

const range = (...limits: Record<string, unknown>[]): KubeObject => ({
  metadata: { name: "lr" },
  spec: { limits },
});
const pod = (...containers: Record<string, unknown>[]): KubeObject => ({
  metadata: { name: "p" },
  spec: { containers },
});

Deno.test("applyLimitRangeDefaults() fills only missing requests and limits and notes them in the annotation", () => {
  const p = pod({ name: "a", resources: { limits: { cpu: "2" } } }, { name: "b" });
  applyLimitRangeDefaults(
    range({ type: "Container", default: { cpu: "500m", memory: "1Gi" }, defaultRequest: { cpu: "100m" } }),
    p,
  );
  assert.deepEqual(p.spec.containers[0].resources, {
    limits: { cpu: "2", memory: "1Gi" },
    requests: { cpu: "100m" },
  });
  assert.deepEqual(p.spec.containers[1].resources, {
    limits: { cpu: "500m", memory: "1Gi" },
    requests: { cpu: "100m" },
  });
  assert.equal(
    p.metadata.annotations!["kubernetes.io/limit-ranger"],
    "LimitRanger plugin set: cpu request for container a; memory limit for container a; cpu request for container b; cpu, memory limit for container b",
  );
});

Deno.test("podLimitViolations() words min, max and ratio violations as upstream", () => {
  const lr = range({
    type: "Container",
    max: { cpu: "1" },
    min: { memory: "64Mi" },
    maxLimitRequestRatio: { cpu: "2" },
  });
  assert.deepEqual(
    podLimitViolations(
      lr,
      pod({ name: "c", resources: { requests: { cpu: "500m", memory: "32Mi" }, limits: { cpu: "2" } } }),
    ),
    [
      "minimum memory usage per Container is 64Mi, but request is 32Mi",
      "maximum cpu usage per Container is 1, but limit is 2",
      "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000",
    ],
  );
  assert.deepEqual(podLimitViolations(lr, pod({ name: "c", resources: {} })), [
    "minimum memory usage per Container is 64Mi.  No request is specified",
    "maximum cpu usage per Container is 1.  No limit is specified",
    "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0",
  ]);
  assert.deepEqual(
    podLimitViolations(
      lr,
      pod({ name: "c", resources: { requests: { cpu: "1", memory: "64Mi" }, limits: { cpu: "1" } } }),
    ),
    [],
  );
});

Deno.test("podLimitViolations() sums containers for a Pod item, taking the largest init container", () => {
  const lr = range({ type: "Pod", max: { memory: "1Gi" } });
  const p = pod(
    { name: "a", resources: { limits: { memory: "600Mi" } } },
    { name: "b", resources: { limits: { memory: "600Mi" } } },
  );
  assert.deepEqual(podLimitViolations(lr, p), ["maximum memory usage per Pod is 1Gi, but limit is 1200Mi"]);
  p.spec.containers.pop();
  p.spec.initContainers = [{ name: "init", resources: { limits: { memory: "2Gi" } } }];
  assert.deepEqual(podLimitViolations(lr, p), ["maximum memory usage per Pod is 1Gi, but limit is 2Gi"]);
});

Deno.test("pvcLimitViolations() bounds storage requests by min and max", () => {
  const lr = range({ type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "10Gi" } });
  const pvc = (storage: string): KubeObject => ({
    metadata: { name: "c" },
    spec: { resources: { requests: { storage } } },
  });
  assert.deepEqual(pvcLimitViolations(lr, pvc("20Gi")), [
    "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi",
  ]);
  assert.deepEqual(pvcLimitViolations(lr, pvc("500Mi")), [
    "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi",
  ]);
  assert.deepEqual(pvcLimitViolations(lr, pvc("5Gi")), []);
});

Deno.test("aggregate() formats one error plainly and several in brackets without duplicates", () => {
  assert.equal(aggregate(["a"]), "a");
  assert.equal(aggregate(["a", "b", "a"]), "[a, b]");
});
