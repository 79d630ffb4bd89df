import assert from "node:assert/strict";
import { decodeProtobuf } from "./decode.ts";
import { encodeProtobuf } from "./encode.ts";
import { schemaRoot, UNKNOWN } from "./schema.ts";

/**
 * Objects as Go's encoding/json would print them: no zero values under `omitempty`, times in
 * RFC 3339. Each must survive encode → decode unchanged.
 */
const OBJECTS: Record<string, Record<string, unknown>> = {
  "a Deployment with a rolling update strategy and int-or-string surge limits": {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "prod",
      uid: "7c8f0e4e-1f0a-4c0e-9d39-1b2c3d4e5f60",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2024-05-06T07:08:09Z",
      deletionTimestamp: "2024-05-07T00:00:00Z",
      deletionGracePeriodSeconds: 0,
      labels: { app: "web" },
      annotations: { "deployment.kubernetes.io/revision": "2" },
      finalizers: ["example.com/keep"],
      ownerReferences: [{
        apiVersion: "example.com/v1",
        kind: "App",
        name: "web",
        uid: "u-1",
        controller: true,
        blockOwnerDeletion: false,
      }],
      managedFields: [{
        manager: "kubectl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: "2024-05-06T07:08:09Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:spec": { "f:replicas": {} } },
      }],
    },
    spec: {
      replicas: 0,
      revisionHistoryLimit: 0,
      progressDeadlineSeconds: 600,
      minReadySeconds: 5,
      selector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }],
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "nginx", resources: {} }] },
      },
    },
    status: {
      observedGeneration: 3,
      replicas: 2,
      conditions: [{
        type: "Available",
        status: "True",
        lastUpdateTime: "2024-05-06T07:08:09Z",
        lastTransitionTime: "2024-05-06T07:08:10Z",
        reason: "MinimumReplicasAvailable",
      }],
    },
  },
  "a Pod with inline volume sources, probes, env references and resources": {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", creationTimestamp: null },
    spec: {
      volumes: [
        { name: "cfg", configMap: { name: "settings", defaultMode: 420, optional: false } },
        { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        {
          name: "token",
          projected: {
            sources: [{ serviceAccountToken: { audience: "api", expirationSeconds: 3600, path: "token" } }],
          },
        },
      ],
      initContainers: [{ name: "init", image: "busybox", command: ["sh", "-c", "true"], resources: {} }],
      containers: [{
        name: "app",
        image: "nginx",
        ports: [{ name: "http", containerPort: 80, protocol: "TCP" }],
        env: [
          { name: "A", value: "1" },
          { name: "B", valueFrom: { configMapKeyRef: { name: "settings", key: "b", optional: true } } },
          { name: "C", valueFrom: { secretKeyRef: { name: "creds", key: "c" } } },
          { name: "D", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
        ],
        resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "250m" } },
        livenessProbe: {
          httpGet: { path: "/healthz", port: "http", scheme: "HTTP" },
          initialDelaySeconds: 3,
          periodSeconds: 10,
        },
        readinessProbe: { tcpSocket: { port: 80 } },
        securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false },
        volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg", readOnly: true }],
      }],
      ephemeralContainers: [{ name: "debug", image: "busybox", targetContainerName: "app", resources: {} }],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 0,
      tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
          },
        },
      },
      hostNetwork: true,
    },
    status: {
      phase: "Running",
      startTime: "2024-05-06T07:08:09Z",
      conditions: [{
        type: "Ready",
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: "2024-05-06T07:08:09Z",
      }],
    },
  },
  "a Secret with bytes, string data and an explicit immutable false": {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s", creationTimestamp: null },
    immutable: false,
    data: { bin: "AP/+gH8Kwyg=", empty: "" },
    stringData: { plain: "text" },
    type: "Opaque",
  },
  "a core Event with MicroTime and Time stamps": {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "e", namespace: "default", creationTimestamp: null },
    involvedObject: { kind: "Pod", namespace: "default", name: "p", apiVersion: "v1" },
    reason: "Started",
    message: "Started container",
    source: { component: "kubelet", host: "node-a" },
    firstTimestamp: "2024-05-06T07:08:09Z",
    lastTimestamp: "2024-05-06T07:08:19Z",
    count: 2,
    type: "Normal",
    eventTime: "2024-05-06T07:08:09.123456Z",
    series: { count: 2, lastObservedTime: "2024-05-06T07:08:19.000001Z" },
    reportingComponent: "kubelet",
    reportingInstance: "node-a",
  },
  "a Lease with MicroTime renew times": {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "leader", namespace: "kube-system", creationTimestamp: null },
    spec: {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: "2024-05-06T07:08:09.000000Z",
      renewTime: "2024-05-06T07:08:24.500000Z",
      leaseTransitions: 0,
    },
  },
  "a ControllerRevision whose RawExtension data is an embedded object": {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: { name: "web-1", creationTimestamp: null },
    data: { spec: { template: { metadata: { labels: { a: "b" } } } }, list: [1, "two", null, true] },
    revision: 1,
  },
  "an Eviction with DeleteOptions and preconditions": {
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name: "p", namespace: "default", creationTimestamp: null },
    deleteOptions: {
      gracePeriodSeconds: 0,
      preconditions: { uid: "u-1", resourceVersion: "7" },
      propagationPolicy: "Foreground",
      dryRun: ["All"],
    },
  },
  "a SubjectAccessReview with extra values": {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    metadata: { creationTimestamp: null },
    spec: {
      resourceAttributes: { namespace: "ns", verb: "get", resource: "pods", name: "p" },
      user: "alice",
      groups: ["devs", "system:authenticated"],
      extra: { scopes: ["a", "b"], empty: [] },
      uid: "u-2",
    },
    status: { allowed: true, reason: "RBAC" },
  },
  "a TokenReview with a user's extra values": {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    metadata: { creationTimestamp: null },
    spec: { token: "abc", audiences: ["api"] },
    status: {
      authenticated: true,
      user: {
        username: "bob",
        uid: "1",
        groups: ["g"],
        extra: { "authentication.kubernetes.io/pod-name": ["p"] },
      },
    },
  },
  "a Scale": {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: { name: "web", namespace: "default", creationTimestamp: null },
    spec: { replicas: 3 },
    status: { replicas: 2, selector: "app=web" },
  },
  "a Service with node ports, session affinity and dual-stack fields": {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s", creationTimestamp: null },
    spec: {
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: "web", nodePort: 30080 }],
      selector: { app: "web" },
      type: "NodePort",
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ipFamilies: ["IPv4", "IPv6"],
      ipFamilyPolicy: "PreferDualStack",
      allocateLoadBalancerNodePorts: false,
    },
    status: { loadBalancer: { ingress: [{ ip: "10.0.0.1", ports: [{ port: 80, protocol: "TCP" }] }] } },
  },
  "a Job with zero backoff and a pod failure policy": {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j", creationTimestamp: null },
    spec: {
      backoffLimit: 0,
      parallelism: 2,
      completions: 4,
      podFailurePolicy: {
        rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [1, 2, 3] } }],
      },
      template: {
        metadata: { creationTimestamp: null },
        spec: { containers: [{ name: "c", image: "busybox", resources: {} }], restartPolicy: "Never" },
      },
    },
    status: { startTime: "2024-05-06T07:08:09Z", active: 1 },
  },
  "a CustomResourceDefinition whose schema uses every apiextensions union": {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com", creationTimestamp: null },
    spec: {
      group: "example.com",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      scope: "Namespaced",
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              spec: {
                type: "object",
                "x-kubernetes-preserve-unknown-fields": true,
                properties: {
                  size: { type: "integer", minimum: 0, maximum: 10, default: 3 },
                  color: { type: "string", enum: ["red", "blue"] },
                  port: { "x-kubernetes-int-or-string": true },
                  tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
                  labels: { type: "object", additionalProperties: { type: "string" } },
                  strict: { type: "object", additionalProperties: false },
                  pair: { type: "array", items: [{ type: "string" }, { type: "integer" }] },
                  example: { type: "object", example: { a: 1 }, nullable: true },
                },
                dependencies: { a: ["b", "c"], d: { required: ["e"] } },
                "x-kubernetes-validations": [{ rule: "self.size <= 10", message: "too big" }],
              },
            },
          },
        },
        subresources: {
          status: {},
          scale: { specReplicasPath: ".spec.size", statusReplicasPath: ".status.size" },
        },
        additionalPrinterColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
      }],
      conversion: {
        strategy: "Webhook",
        webhook: {
          clientConfig: {
            caBundle: "Y2E=",
            service: { namespace: "ns", name: "conv", path: "/convert", port: 443 },
          },
          conversionReviewVersions: ["v1"],
        },
      },
    },
    status: { acceptedNames: { plural: "", kind: "" }, storedVersions: null },
  },
};

for (const [what, obj] of Object.entries(OBJECTS)) {
  Deno.test(`encodeProtobuf() then decodeProtobuf() gives back ${what}`, () => {
    const expected = structuredClone(obj);
    if (what.startsWith("a CustomResourceDefinition")) {
      // A nil storedVersions is JSON null; the decoder leaves absent lists absent.
      delete (expected.status as Record<string, unknown>).storedVersions;
    }
    assert.deepEqual(decodeProtobuf(encodeProtobuf(obj)), expected);
  });
}

Deno.test("encodeProtobuf() writes the k8s\\0 prefix and a runtime.Unknown naming the kind", () => {
  const body = encodeProtobuf({ apiVersion: "v1", kind: "Namespace", metadata: { name: "n" } });
  assert.deepEqual([...body.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
  const unknown = schemaRoot().lookupType(UNKNOWN).decode(body.subarray(4)) as unknown as {
    typeMeta: { apiVersion: string; kind: string };
    raw: Uint8Array;
  };
  assert.deepEqual({ ...unknown.typeMeta }, { apiVersion: "v1", kind: "Namespace" });
  // Namespace field 1 (metadata) holding ObjectMeta field 1 (name) "n".
  assert.deepEqual([...unknown.raw], [0x0a, 0x03, 0x0a, 0x01, 0x6e]);
});

Deno.test("decodeProtobuf() drops zero scalars Go writes but JSON omits, and keeps zero pointers", () => {
  const obj = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", generation: 0, namespace: "" },
    spec: { replicas: 0, minReadySeconds: 0, paused: false, template: { spec: { containers: [] } } },
  };
  assert.deepEqual(decodeProtobuf(encodeProtobuf(obj)), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: { replicas: 0, template: { spec: {} } },
  });
});

Deno.test("decodeProtobuf() gives a Scale to zero replicas as Go's JSON does: without replicas", () => {
  // ScaleSpec.replicas is a non-pointer int32 with omitempty: Go writes 0 on the wire, JSON omits it.
  const body = encodeProtobuf({
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: { name: "w" },
    spec: { replicas: 0 },
  });
  assert.deepEqual(decodeProtobuf(body).spec, {});
});

Deno.test("encodeProtobuf() refuses a kind it has no message for", () => {
  assert.throws(
    () => encodeProtobuf({ apiVersion: "example.com/v1", kind: "Widget" }),
    /no protobuf message/,
  );
});
