import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { checkRequest } from "./resource_quota.ts";

const quota = (
  name: string,
  hard: Record<string, string>,
  used: Record<string, string>,
  spec: Record<string, unknown> = {},
): KubeObject => ({
  metadata: { name, namespace: "ns" },
  spec: { hard, ...spec },
  status: { hard, used },
});
const pod = (resources: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: "p", namespace: "ns" },
  spec: { containers: [{ name: "c", resources }], ...spec },
});
const create = (object: KubeObject, resource = "pods", group = "") => ({
  operation: "CREATE",
  group,
  resource,
  object,
});

Deno.test("checkRequest() charges a pod's count and compute usage to every matching quota", () => {
  const q = quota("q", { pods: "10", "requests.cpu": "2", "limits.memory": "1Gi" }, {
    pods: "1",
    "requests.cpu": "500m",
    "limits.memory": "0",
  });
  const d = checkRequest(
    [q],
    create(pod({ requests: { cpu: "250m" }, limits: { cpu: "250m", memory: "128Mi" } })),
    0,
  );
  assert.deepEqual(d, {
    charges: [{ quota: "q", requested: { pods: "1", "requests.cpu": "250m", "limits.memory": "128Mi" } }],
  });
});

Deno.test("checkRequest() refuses with upstream's exceeded-quota text naming only the exceeded resources", () => {
  const q = quota("compute", { pods: "10", "requests.cpu": "1" }, { pods: "3", "requests.cpu": "900m" });
  const d = checkRequest([q], create(pod({ requests: { cpu: "200m" } })), 0);
  assert.deepEqual(d, {
    error:
      "exceeded quota: compute, requested: requests.cpu=200m, used: requests.cpu=900m, limited: requests.cpu=1",
  });
});

Deno.test("checkRequest() requires containers to declare resources a quota limits", () => {
  const q = quota("mem", { "limits.memory": "1Gi", "requests.cpu": "1" }, {
    "limits.memory": "0",
    "requests.cpu": "0",
  });
  const p = pod({}, { initContainers: [{ name: "init", resources: { limits: { memory: "1Mi" } } }] });
  assert.deepEqual(checkRequest([q], create(p), 0), {
    error: "failed quota: mem: must specify limits.memory for: c; requests.cpu for: c,init",
  });
});

Deno.test("checkRequest() says the status is unknown until the controller filled it", () => {
  const q: KubeObject = {
    metadata: { name: "new" },
    spec: { hard: { pods: "1" } },
    status: { hard: { pods: "1" } },
  };
  assert.deepEqual(checkRequest([q], create(pod()), 0), {
    error: "status unknown for quota: new, resources: pods",
  });
  // Without status.hard the quota matches nothing yet (upstream).
  assert.deepEqual(
    checkRequest([{ metadata: { name: "x" }, spec: { hard: { pods: "0" } } }], create(pod()), 0),
    { charges: [] },
  );
});

Deno.test("checkRequest() counts any kind as count/<resource>.<group> and only on create", () => {
  const q = quota("objects", { "count/deployments.apps": "1", configmaps: "5" }, {
    "count/deployments.apps": "1",
    configmaps: "0",
  });
  const deploy: KubeObject = { metadata: { name: "d" } };
  assert.deepEqual(checkRequest([q], create(deploy, "deployments", "apps"), 0), {
    error:
      "exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1",
  });
  assert.deepEqual(checkRequest([q], { ...create(deploy, "deployments", "apps"), operation: "UPDATE" }, 0), {
    charges: [],
  });
  assert.deepEqual(checkRequest([q], create(deploy, "configmaps"), 0), {
    charges: [{ quota: "objects", requested: { configmaps: "1" } }],
  });
});

Deno.test("checkRequest() applies quota scopes to pods only", () => {
  const terminating = quota("t", { pods: "0" }, { pods: "0" }, { scopes: ["Terminating"] });
  const bestEffort = quota("be", { pods: "0" }, { pods: "0" }, { scopes: ["BestEffort"] });
  assert.deepEqual(checkRequest([terminating], create(pod()), 0), { charges: [] });
  assert.match(
    (checkRequest([terminating], create(pod({}, { activeDeadlineSeconds: 10 })), 0) as { error: string })
      .error,
    /^exceeded quota: t/,
  );
  assert.match(
    (checkRequest([bestEffort], create(pod()), 0) as { error: string }).error,
    /^exceeded quota: be/,
  );
  assert.deepEqual(checkRequest([bestEffort], create(pod({ requests: { cpu: "1" } })), 0), { charges: [] });
  const scopedCount = quota("s", { "count/configmaps": "0" }, { "count/configmaps": "0" }, {
    scopes: ["NotTerminating"],
  });
  assert.deepEqual(checkRequest([scopedCount], create({ metadata: { name: "m" } }, "configmaps"), 0), {
    charges: [],
  });
});

Deno.test("checkRequest() charges a Service update by the change of its usage", () => {
  const q = quota("svc", { "services.loadbalancers": "1", services: "5" }, {
    "services.loadbalancers": "1",
    services: "1",
  });
  const old: KubeObject = {
    metadata: { name: "s", resourceVersion: "5" },
    spec: { type: "ClusterIP", ports: [{ port: 80 }] },
  };
  const lb: KubeObject = { metadata: { name: "s" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } };
  assert.deepEqual(
    checkRequest(
      [q],
      { operation: "UPDATE", group: "", resource: "services", object: lb, oldObject: old },
      0,
    ),
    {
      error:
        "exceeded quota: svc, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1",
    },
  );
});
