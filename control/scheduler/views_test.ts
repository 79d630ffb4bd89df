import assert from "node:assert/strict";
import { hasAffinity, nodeView, podView, runtimeClassInfo } from "./views.ts";
import { makeNode, makePod, viewContext } from "./testing.ts";

const gvisor = runtimeClassInfo({
  metadata: { name: "gvisor" },
  handler: "runsc",
  scheduling: {
    nodeSelector: { sandbox: "gvisor" },
    tolerations: [{ key: "sandbox", operator: "Exists", effect: "NoSchedule" }],
  },
  overhead: { podFixed: { cpu: "250m", memory: "64Mi" } },
});

Deno.test("podView() parses requests, defaults the scheduler name and keys the pod by namespace/name", () => {
  const v = podView(makePod("web", { namespace: "shop", cpu: "250m", memory: "1Gi" }), viewContext());
  assert.equal(v.key, "shop/web");
  assert.equal(v.schedulerName, "default-scheduler");
  assert.equal(v.requests.milliCPU, 250);
  assert.equal(v.requests.memory, 1024 ** 3);
  assert.equal(v.nonZeroMilliCPU, 250);
  assert.equal(v.nodeName, "");
});

Deno.test("podView() resolves the priority from the pod's PriorityClass", () => {
  const ctx = viewContext([{ name: "high", value: 5000, globalDefault: false, preemptionPolicy: "Never" }]);
  const v = podView(makePod("p", { priorityClassName: "high" }), ctx);
  assert.equal(v.priority, 5000);
  assert.equal(v.preemptionPolicy, "Never");
  assert.equal(
    podView(makePod("q", { priorityClassName: "gone" }), ctx).priorityError,
    "no PriorityClass with name gone was found",
  );
});

Deno.test("podView() merges the RuntimeClass's nodeSelector, tolerations and overhead as admission does", () => {
  const v = podView(
    makePod("p", { runtimeClassName: "gvisor", cpu: "100m", nodeSelector: { disk: "ssd" } }),
    viewContext([], [gvisor]),
  );
  assert.deepEqual(v.runtimeClass, { name: "gvisor", handler: "runsc" });
  assert.deepEqual(v.nodeSelector, { disk: "ssd", sandbox: "gvisor" });
  assert.deepEqual(v.tolerations, [{ key: "sandbox", operator: "Exists", value: "", effect: "NoSchedule" }]);
  assert.equal(v.requests.milliCPU, 350);
});

Deno.test("podView() reports a RuntimeClass whose nodeSelector conflicts with the pod's", () => {
  const v = podView(
    makePod("p", { runtimeClassName: "gvisor", nodeSelector: { sandbox: "kata" } }),
    viewContext([], [gvisor]),
  );
  assert.equal(
    v.runtimeClass?.error,
    "conflict: runtimeClass.scheduling.nodeSelector[sandbox] = gvisor; pod.spec.nodeSelector[sandbox] = kata",
  );
});

Deno.test("podView() reports a RuntimeClass that does not exist", () => {
  assert.equal(
    podView(makePod("p", { runtimeClassName: "nope" }), viewContext()).runtimeClass?.error,
    `RuntimeClass "nope" not found`,
  );
});

Deno.test("podView() defaults an affinity term's namespaces to the pod's own", () => {
  const v = podView(
    makePod("p", {
      namespace: "ns1",
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{
            labelSelector: { matchLabels: { app: "db" } },
            topologyKey: "kubernetes.io/hostname",
          }],
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 5,
            podAffinityTerm: {
              labelSelector: { matchLabels: { app: "x" } },
              namespaceSelector: {},
              topologyKey: "zone",
            },
          }],
        },
      },
    }),
    viewContext(),
  );
  assert.deepEqual(v.requiredAntiAffinity[0].namespaces, ["ns1"]);
  assert.equal(v.requiredAntiAffinity[0].namespaceSelector, null);
  assert.deepEqual(v.preferredAntiAffinity[0].namespaces, []);
  assert.deepEqual(v.preferredAntiAffinity[0].namespaceSelector, []);
  assert.equal(v.preferredAntiAffinity[0].weight, 5);
  assert.ok(hasAffinity(v));
});

Deno.test("podView() merges matchLabelKeys into a spread constraint's selector", () => {
  const v = podView(
    makePod("p", {
      labels: { app: "web", "pod-template-hash": "abc" },
      spread: [{
        maxSkew: 1,
        topologyKey: "zone",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { app: "web" } },
        matchLabelKeys: ["pod-template-hash"],
      }],
    }),
    viewContext(),
  );
  const c = v.spreadConstraints[0];
  assert.deepEqual(c.selector, [{ key: "pod-template-hash", operator: "=", values: ["abc"] }, {
    key: "app",
    operator: "=",
    values: ["web"],
  }]);
  assert.equal(c.minDomains, 1);
  assert.equal(c.nodeAffinityPolicy, "Honor");
  assert.equal(c.nodeTaintsPolicy, "Ignore");
});

Deno.test("podView() records a selector it cannot parse instead of throwing", () => {
  const v = podView(
    makePod("p", {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{
            labelSelector: { matchExpressions: [{ key: "a", operator: "Bogus" }] },
            topologyKey: "z",
          }],
        },
      },
    }),
    viewContext(),
  );
  assert.match(v.invalid ?? "", /Bogus/);
});

Deno.test("nodeView() reads allocatable, taints, cordon and runtime handlers", () => {
  const n = nodeView(makeNode("n1", {
    cpu: "8",
    memory: "16Gi",
    pods: "20",
    taints: [{ key: "k", value: "v", effect: "NoSchedule" }, { key: "bad", effect: "Weird" }],
    unschedulable: true,
    handlers: ["runc", "wasmtime"],
  }));
  assert.equal(n.allocatable.milliCPU, 8000);
  assert.equal(n.allocatable.pods, 20);
  assert.deepEqual(n.taints, [{ key: "k", value: "v", effect: "NoSchedule" }]);
  assert.equal(n.unschedulable, true);
  assert.deepEqual(n.runtimeHandlers, ["runc", "wasmtime"]);
  assert.equal(nodeView(makeNode("n2")).runtimeHandlers, null);
});
