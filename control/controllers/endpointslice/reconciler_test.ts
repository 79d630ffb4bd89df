import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import {
  CONTROLLER_NAME,
  desiredGroups,
  HEADLESS_LABEL,
  MANAGED_BY_LABEL,
  planSlices,
  SERVICE_NAME_LABEL,
} from "./reconciler.ts";

const svc = (spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: "web", namespace: "default", uid: "svc-uid", labels: { team: "a" } },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...spec },
});
const pod = (i: number, opts: { ready?: boolean; port?: number; deleting?: boolean } = {}): KubeObject => ({
  metadata: {
    name: `p${i}`,
    namespace: "default",
    uid: `u${i}`,
    labels: { app: "web" },
    ...(opts.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
  },
  spec: {
    nodeName: "n1",
    containers: [{ name: "c", ports: [{ name: "http", containerPort: opts.port ?? 8080 }] }],
  },
  status: {
    phase: "Running",
    podIP: `198.18.${i >> 8}.${i & 255}`,
    conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
  },
});
let n = 0;
/** Pretends the server created the planned slices (assigning names). */
const created = (plan: { create: KubeObject[] }) =>
  plan.create.map((s) => ({ ...s, metadata: { ...s.metadata, name: `web-${n++}`, resourceVersion: "1" } }));

Deno.test("desiredGroups() sets ready/serving/terminating as upstream", () => {
  const groups = desiredGroups(
    svc(),
    [pod(1), pod(2, { ready: false }), pod(3, { deleting: true })],
    () => "z1",
  );
  const eps = [...groups.values()][0].endpoints;
  assert.deepEqual(eps.map((e) => e.conditions), [
    { ready: true, serving: true, terminating: false },
    { ready: false, serving: false, terminating: false },
    { ready: false, serving: true, terminating: true },
  ]);
  assert.equal(eps[0].zone, "z1");
  assert.deepEqual(eps[0].targetRef, { kind: "Pod", namespace: "default", name: "p1", uid: "u1" });
});

Deno.test("planSlices() creates labelled, owned slices of at most 100 endpoints", () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(i));
  const plan = planSlices(svc({ clusterIP: "None" }), [], desiredGroups(svc({ clusterIP: "None" }), pods));
  assert.deepEqual(plan.create.map((s) => s.endpoints.length), [100, 100, 50]);
  const s = plan.create[0];
  assert.deepEqual(s.metadata.labels, {
    team: "a",
    [SERVICE_NAME_LABEL]: "web",
    [MANAGED_BY_LABEL]: CONTROLLER_NAME,
    [HEADLESS_LABEL]: "",
  });
  assert.equal(s.metadata.generateName, "web-");
  assert.deepEqual(s.metadata.ownerReferences, [{
    apiVersion: "v1",
    kind: "Service",
    name: "web",
    uid: "svc-uid",
    controller: true,
    blockOwnerDeletion: true,
  }]);
  assert.deepEqual(s.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  assert.equal(s.addressType, "IPv4");
});

Deno.test("planSlices() is stable: the same state plans nothing", () => {
  const pods = [pod(1), pod(2)];
  const slices = created(planSlices(svc(), [], desiredGroups(svc(), pods)));
  assert.deepEqual(planSlices(svc(), slices, desiredGroups(svc(), pods)), {
    create: [],
    update: [],
    delete: [],
  });
});

Deno.test("planSlices() updates a slice in place when readiness changes and fills slices with room", () => {
  const slices = created(planSlices(svc(), [], desiredGroups(svc(), [pod(1), pod(2)])));
  const plan = planSlices(svc(), slices, desiredGroups(svc(), [pod(1, { ready: false }), pod(2), pod(3)]));
  assert.equal(plan.create.length, 0);
  assert.equal(plan.update.length, 1);
  assert.deepEqual(
    plan.update[0].endpoints.map((
      e: { targetRef: { name: string }; conditions: { ready: boolean } },
    ) => [e.targetRef.name, e.conditions.ready]),
    [
      ["p1", false],
      ["p2", true],
      ["p3", true],
    ],
  );
});

Deno.test("planSlices() moves pods whose resolved port changed to a slice of that port set, deleting the empty one", () => {
  const slices = created(planSlices(svc(), [], desiredGroups(svc(), [pod(1)])));
  const plan = planSlices(svc(), slices, desiredGroups(svc(), [pod(1, { port: 9090 })]));
  assert.deepEqual(plan.delete.map((s) => s.metadata.name), [slices[0].metadata.name]);
  assert.deepEqual(plan.create[0].ports, [{ name: "http", port: 9090, protocol: "TCP" }]);
});

Deno.test("planSlices() keeps one empty placeholder slice for a Service without endpoints", () => {
  const plan = planSlices(svc(), [], new Map());
  assert.equal(plan.create.length, 1);
  assert.deepEqual([plan.create[0].endpoints, plan.create[0].ports], [[], []]);
  const slices = created(plan);
  assert.deepEqual(planSlices(svc(), slices, new Map()), { create: [], update: [], delete: [] });
  const two = created(planSlices(svc(), [], desiredGroups(svc(), [pod(1)])));
  const emptied = planSlices(svc(), [...slices, ...two], new Map());
  assert.deepEqual(emptied.delete.map((s) => s.metadata.name), [two[0].metadata.name]);
});

Deno.test("planSlices() removes a duplicate endpoint that two slices both carry", () => {
  const a = created(planSlices(svc(), [], desiredGroups(svc(), [pod(1)])));
  const b = created(planSlices(svc(), [], desiredGroups(svc(), [pod(1)])));
  const plan = planSlices(svc(), [...a, ...b], desiredGroups(svc(), [pod(1)]));
  assert.deepEqual(plan.delete.map((s) => s.metadata.name), [b[0].metadata.name]);
  assert.equal(plan.create.length + plan.update.length, 0);
});
