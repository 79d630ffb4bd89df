import assert from "node:assert/strict";
import {
  DEFAULT_MEMORY_REQUEST,
  DEFAULT_MILLI_CPU_REQUEST,
  podRequests,
  quantityToInt,
  resourcesFromList,
} from "./resources.ts";

Deno.test("quantityToInt() gives cpu in millicores, rounding up as MilliValue does", () => {
  assert.equal(quantityToInt("100m", 3), 100);
  assert.equal(quantityToInt("1.5", 3), 1500);
  assert.equal(quantityToInt("2", 3), 2000);
  assert.equal(quantityToInt(0.25, 3), 250);
  assert.equal(quantityToInt("1u", 3), 1);
});

Deno.test("quantityToInt() gives bytes for binary and decimal suffixes, rounding up", () => {
  assert.equal(quantityToInt("1Gi"), 1024 ** 3);
  assert.equal(quantityToInt("128Mi"), 128 * 1024 ** 2);
  assert.equal(quantityToInt("1G"), 1e9);
  assert.equal(quantityToInt("500m"), 1);
  assert.equal(quantityToInt("nonsense"), 0);
});

Deno.test("resourcesFromList() keeps extended resources as scalars and ignores pods", () => {
  const r = resourcesFromList({
    cpu: "1",
    memory: "1Ki",
    "ephemeral-storage": "2Ki",
    "nvidia.com/gpu": "2",
    pods: "10",
  });
  assert.deepEqual(r, {
    milliCPU: 1000,
    memory: 1024,
    ephemeralStorage: 2048,
    scalar: { "nvidia.com/gpu": 2 },
  });
});

Deno.test("podRequests() sums containers and takes the largest init container", () => {
  const spec = {
    containers: [{ resources: { requests: { cpu: "100m", memory: "100Mi" } } }, {
      resources: { requests: { cpu: "200m" } },
    }],
    initContainers: [{ resources: { requests: { cpu: "1", memory: "50Mi" } } }],
  };
  const r = podRequests(spec, undefined);
  assert.equal(r.milliCPU, 1000);
  assert.equal(r.memory, 100 * 1024 ** 2);
});

Deno.test("podRequests() adds sidecar init containers to the running containers and to later init containers", () => {
  const spec = {
    containers: [{ resources: { requests: { cpu: "100m" } } }],
    initContainers: [
      { restartPolicy: "Always", resources: { requests: { cpu: "200m" } } },
      { resources: { requests: { cpu: "250m" } } },
    ],
  };
  // running: 100 + 200 = 300; the second init container runs beside the sidecar: 250 + 200 = 450.
  assert.equal(podRequests(spec, undefined).milliCPU, 450);
});

Deno.test("podRequests() counts limits when requests are unset, and adds overhead", () => {
  const spec = { containers: [{ resources: { limits: { cpu: "300m" } } }] };
  assert.equal(podRequests(spec, { cpu: "50m" }).milliCPU, 350);
});

Deno.test("podRequests() with nonZero counts upstream's defaults for containers without requests", () => {
  const spec = { containers: [{ resources: {} }, { resources: { requests: { cpu: "0" } } }] };
  const r = podRequests(spec, undefined, true);
  assert.equal(r.milliCPU, DEFAULT_MILLI_CPU_REQUEST);
  assert.equal(r.memory, 2 * DEFAULT_MEMORY_REQUEST);
  assert.equal(podRequests(spec, undefined).milliCPU, 0);
});
