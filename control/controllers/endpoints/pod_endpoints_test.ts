import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import {
  endpointPorts,
  findPort,
  podEndpointSignature,
  serviceSelects,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "./pod_endpoints.ts";

const pod: KubeObject = {
  metadata: { name: "web-1", namespace: "default", uid: "u1", labels: { app: "web" } },
  spec: {
    hostname: "web-1",
    subdomain: "web",
    containers: [{
      name: "c",
      ports: [{ name: "http", containerPort: 8080 }, { name: "dns", containerPort: 53, protocol: "UDP" }],
    }],
    initContainers: [{
      name: "side",
      restartPolicy: "Always",
      ports: [{ name: "metrics", containerPort: 9090 }],
    }],
  },
  status: { phase: "Running", podIP: "10.0.0.5", conditions: [{ type: "Ready", status: "True" }] },
};
const svc: KubeObject = {
  metadata: { name: "web", namespace: "default" },
  spec: {
    selector: { app: "web" },
    ports: [
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
      { name: "metrics", port: 9090, targetPort: "metrics" },
      { name: "missing", port: 81, targetPort: "nope" },
      { name: "plain", port: 82, targetPort: 8082, appProtocol: "http" },
    ],
  },
};

Deno.test("findPort() resolves named target ports per pod, by protocol, including sidecars", () => {
  assert.equal(findPort(pod, { port: 80, targetPort: "http" }), 8080);
  assert.equal(findPort(pod, { port: 53, targetPort: "dns" }), null, "dns is UDP, the service port TCP");
  assert.equal(findPort(pod, { port: 53, targetPort: "dns", protocol: "UDP" }), 53);
  assert.equal(findPort(pod, { port: 9090, targetPort: "metrics" }), 9090);
  assert.equal(findPort(pod, { port: 80 }), 80);
});

Deno.test("endpointPorts() leaves out ports the pod cannot serve", () => {
  assert.deepEqual(endpointPorts(pod, svc), [
    { name: "http", port: 8080, protocol: "TCP" },
    { name: "dns", port: 53, protocol: "UDP" },
    { name: "metrics", port: 9090, protocol: "TCP" },
    { name: "plain", port: 8082, protocol: "TCP", appProtocol: "http" },
  ]);
});

Deno.test("shouldPodBeInEndpoints() skips terminal pods, pods without IP and (unless asked) terminating ones", () => {
  assert.ok(shouldPodBeInEndpoints(pod, false));
  assert.ok(!shouldPodBeInEndpoints({ ...pod, status: { ...pod.status, phase: "Succeeded" } }, true));
  assert.ok(!shouldPodBeInEndpoints({ ...pod, status: { phase: "Pending" } }, true));
  const terminating = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
  assert.ok(!shouldPodBeInEndpoints(terminating, false));
  assert.ok(shouldPodBeInEndpoints(terminating, true));
});

Deno.test("shouldSetHostname() needs the pod's subdomain to name the Service", () => {
  assert.ok(shouldSetHostname(pod, svc));
  assert.ok(!shouldSetHostname(pod, { metadata: { name: "other", namespace: "default" } }));
});

Deno.test("serviceSelects() matches the selector map; no selector selects nothing", () => {
  assert.ok(serviceSelects(svc, { app: "web", x: "y" }));
  assert.ok(!serviceSelects(svc, { app: "db" }));
  assert.ok(!serviceSelects({ metadata: {}, spec: {} }, { app: "web" }));
});

Deno.test("podEndpointSignature() changes with readiness but not with unrelated status", () => {
  const other = { ...pod, status: { ...pod.status, containerStatuses: [{ restartCount: 1 }] } };
  assert.equal(podEndpointSignature(pod), podEndpointSignature(other));
  const notReady = { ...pod, status: { ...pod.status, conditions: [{ type: "Ready", status: "False" }] } };
  assert.notEqual(podEndpointSignature(pod), podEndpointSignature(notReady));
});
