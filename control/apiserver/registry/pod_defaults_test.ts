import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { defaultPod, defaultPodSpec, defaultPullPolicy, podQOSClass } from "./pod_defaults.ts";

const create = { operation: "CREATE" as const };

Deno.test("defaultPullPolicy() uses Always for latest or untagged images", () => {
  assert.equal(defaultPullPolicy("nginx"), "Always");
  assert.equal(defaultPullPolicy("nginx:latest"), "Always");
  assert.equal(defaultPullPolicy("nginx:1.27"), "IfNotPresent");
  assert.equal(defaultPullPolicy("localhost:5000/app"), "Always");
  assert.equal(defaultPullPolicy("localhost:5000/app:v1"), "IfNotPresent");
  assert.equal(defaultPullPolicy("app@sha256:abcd"), "IfNotPresent");
});

Deno.test("defaultPod() fills what kubectl get -o yaml shows for a minimal pod", () => {
  const pod: KubeObject = {
    metadata: { name: "web", namespace: "default" },
    spec: { containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }] },
  };
  defaultPod(pod, create);
  assert.deepEqual(pod.spec, {
    containers: [{
      name: "web",
      image: "nginx",
      imagePullPolicy: "Always",
      ports: [{ containerPort: 80, protocol: "TCP" }],
      resources: {},
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
    }],
    dnsPolicy: "ClusterFirst",
    enableServiceLinks: true,
    preemptionPolicy: "PreemptLowerPriority",
    priority: 0,
    restartPolicy: "Always",
    schedulerName: "default-scheduler",
    securityContext: {},
    serviceAccount: "default",
    serviceAccountName: "default",
    terminationGracePeriodSeconds: 30,
  });
  assert.deepEqual(pod.status, { phase: "Pending", qosClass: "BestEffort" });
});

Deno.test("defaultPod() leaves status and admission defaults alone on UPDATE", () => {
  const pod: KubeObject = {
    metadata: { name: "web" },
    spec: { containers: [{ name: "web", image: "nginx:1" }] },
    status: { phase: "Running" },
  };
  defaultPod(pod, { operation: "UPDATE" });
  assert.equal(pod.status.phase, "Running");
  assert.equal(pod.spec.serviceAccountName, undefined);
  assert.equal(pod.spec.tolerations, undefined);
});

Deno.test("defaultPod() defaults requests to limits and computes a Guaranteed QoS class", () => {
  const pod: KubeObject = {
    metadata: { name: "web" },
    spec: {
      containers: [{ name: "web", image: "nginx", resources: { limits: { cpu: 0.5, memory: "128Mi" } } }],
    },
  };
  defaultPod(pod, create);
  assert.deepEqual(pod.spec.containers[0].resources, {
    limits: { cpu: "500m", memory: "128Mi" },
    requests: { cpu: "500m", memory: "128Mi" },
  });
  assert.equal(pod.status.qosClass, "Guaranteed");
});

Deno.test("podQOSClass() is Burstable when requests are below limits", () => {
  const spec = {
    containers: [{ resources: { requests: { cpu: "100m" }, limits: { cpu: "1", memory: "1Gi" } } }],
  };
  assert.equal(podQOSClass(spec), "Burstable");
});

Deno.test("defaultPod() leaves tolerations to the DefaultTolerationSeconds admission step", () => {
  const pod: KubeObject = {
    metadata: { name: "web" },
    spec: { containers: [{ name: "web", image: "x" }], tolerations: [{ key: "a", operator: "Exists" }] },
  };
  defaultPod(pod, create);
  assert.deepEqual(pod.spec.tolerations, [{ key: "a", operator: "Exists" }]);
});

Deno.test("defaultPod() adds the SchedulingGated condition to gated pods", () => {
  const pod: KubeObject = {
    metadata: { name: "web" },
    spec: { containers: [{ name: "web", image: "x" }], schedulingGates: [{ name: "wait" }] },
  };
  defaultPod(pod, create);
  assert.equal(pod.status.conditions[0].reason, "SchedulingGated");
});

Deno.test("defaultPodSpec() defaults volumes and probes", () => {
  // deno-lint-ignore no-explicit-any
  const spec: Record<string, any> = {
    containers: [{
      name: "c",
      image: "x",
      livenessProbe: { httpGet: { port: 8080 } },
      env: [{ name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
    }],
    volumes: [{ name: "scratch" }, { name: "cfg", configMap: { name: "cfg" } }],
  };
  defaultPodSpec(spec);
  assert.deepEqual(spec.volumes, [{ name: "scratch", emptyDir: {} }, {
    name: "cfg",
    configMap: { name: "cfg", defaultMode: 420 },
  }]);
  assert.deepEqual(spec.containers[0].livenessProbe, {
    httpGet: { port: 8080, path: "/", scheme: "HTTP" },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(spec.containers[0].env[0].valueFrom.fieldRef.apiVersion, "v1");
  assert.equal(spec.enableServiceLinks, undefined, "templates do not get enableServiceLinks");
});
