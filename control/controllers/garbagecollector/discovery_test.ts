import assert from "node:assert/strict";
import { ResourceMapper, resourcesOf, supports } from "./discovery.ts";

const list = {
  groupVersion: "apps/v1",
  resources: [
    { name: "deployments", kind: "Deployment", namespaced: true, verbs: ["list", "watch", "delete"] },
    { name: "deployments/scale", kind: "Scale", namespaced: true, verbs: ["get"] },
    { name: "controllerrevisions", kind: "ControllerRevision", namespaced: true, verbs: ["list"] },
  ],
};

Deno.test("resourcesOf() reads an APIResourceList without subresources", () => {
  const rs = resourcesOf(list);
  assert.deepEqual(rs.map((r) => `${r.group}/${r.version}/${r.plural}`), [
    "apps/v1/deployments",
    "apps/v1/controllerrevisions",
  ]);
  assert.ok(supports(rs[0], "list", "watch", "delete"));
  assert.ok(!supports(rs[1], "watch"));
});

Deno.test("ResourceMapper maps an owner's apiVersion and kind to the served resource at any version", () => {
  const m = new ResourceMapper(resourcesOf(list));
  assert.equal(m.forKind("apps/v1", "Deployment")?.plural, "deployments");
  assert.equal(m.forKind("apps/v1beta2", "Deployment")?.plural, "deployments");
  assert.equal(m.forKind("v1", "Deployment"), undefined);
  m.update([]);
  assert.equal(m.forKind("apps/v1", "Deployment"), undefined);
});
