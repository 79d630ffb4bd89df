import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { mergeMap } from "./strategic_merge.ts";
import { tableSchema } from "./smp_schema.ts";

type J = Record<string, unknown>;

/** Applies a strategic merge patch to copies, with the schema of `type`. */
function smp(original: J, patch: J, type = "V1PodSpec"): J {
  return mergeMap(
    structuredClone(original),
    structuredClone(patch),
    tableSchema({ kind: "object", name: type }),
  );
}

/** The Status of a patch that fails. */
function failure(original: J, patch: J, type = "V1PodSpec"): { code: number; message: string } {
  try {
    smp(original, patch, type);
  } catch (e) {
    assert.ok(e instanceof ApiError);
    const cause = e.status.details?.causes?.[0]?.message;
    return { code: e.code, message: e.code === 422 && cause ? cause : e.status.message ?? "" };
  }
  assert.fail("patch applied");
}

const spec = (): J => ({
  containers: [
    { name: "web", image: "nginx:1.26", ports: [{ containerPort: 80 }, { containerPort: 8080 }] },
    { name: "side", image: "busybox" },
  ],
  nodeSelector: { disk: "ssd", zone: "a" },
  tolerations: [{ key: "a" }, { key: "b" }],
  dnsPolicy: "ClusterFirst",
});

Deno.test("mergeMap() merges maps recursively and deletes keys patched to null", () => {
  const { dnsPolicy: _, ...rest } = spec();
  assert.deepEqual(smp(spec(), { nodeSelector: { zone: "b", disk: null, gpu: "yes" }, dnsPolicy: null }), {
    ...rest,
    nodeSelector: { zone: "b", gpu: "yes" },
  });
});

Deno.test("mergeMap() merges lists with strategy merge by merge key and replaces the others", () => {
  const out = smp(spec(), {
    containers: [{ name: "side", image: "busybox:2" }, { name: "new", image: "alpine" }],
    tolerations: [{ key: "c" }],
  });
  assert.deepEqual(out.containers, [
    { name: "web", image: "nginx:1.26", ports: [{ containerPort: 80 }, { containerPort: 8080 }] },
    { name: "side", image: "busybox:2" },
    { name: "new", image: "alpine" },
  ]);
  assert.deepEqual(out.tolerations, [{ key: "c" }]);
});

Deno.test("mergeMap() merges nested merge lists with their own merge keys, new items first as upstream", () => {
  const out = smp(spec(), { containers: [{ name: "web", ports: [{ containerPort: 443, name: "https" }] }] });
  assert.deepEqual((out.containers as J[])[0].ports, [
    { containerPort: 443, name: "https" },
    { containerPort: 80 },
    { containerPort: 8080 },
  ]);
});

Deno.test("mergeMap() unions primitive merge lists and deletes from them with $deleteFromPrimitiveList", () => {
  const meta = { name: "x", finalizers: ["a", "b", "c"] };
  // Without $setElementOrder, patch items keep the patch's order and go before live-only items
  // unless the live list orders a live-only item first (upstream mergeSortedSlice).
  assert.deepEqual(smp(meta, { finalizers: ["d", "b"] }, "V1ObjectMeta").finalizers, ["d", "a", "b", "c"]);
  assert.deepEqual(
    smp(meta, { "$deleteFromPrimitiveList/finalizers": ["b", "z"] }, "V1ObjectMeta").finalizers,
    [
      "a",
      "c",
    ],
  );
  assert.deepEqual(smp({ name: "x" }, { "$deleteFromPrimitiveList/finalizers": ["b"] }, "V1ObjectMeta"), {
    name: "x",
  });
});

Deno.test("mergeMap() orders primitive lists by $setElementOrder", () => {
  const out = smp(
    { finalizers: ["a", "b", "c"] },
    {
      "$setElementOrder/finalizers": ["c", "a", "d"],
      finalizers: ["d"],
      "$deleteFromPrimitiveList/finalizers": ["b"],
    },
    "V1ObjectMeta",
  );
  assert.deepEqual(out.finalizers, ["c", "a", "d"]);
});

Deno.test("mergeMap() merges ownerReferences by uid", () => {
  const meta = {
    ownerReferences: [{ uid: "1", kind: "ReplicaSet", name: "a" }, { uid: "2", kind: "Job", name: "b" }],
  };
  const out = smp(meta, { ownerReferences: [{ uid: "2", controller: true }] }, "V1ObjectMeta");
  assert.deepEqual(out.ownerReferences, [
    { uid: "1", kind: "ReplicaSet", name: "a" },
    { uid: "2", kind: "Job", name: "b", controller: true },
  ]);
});

Deno.test("mergeMap() keeps a server-only container before one added in the same patch as upstream", () => {
  // kubectl apply replacing container "old" by "new" while the server injected "proxy".
  const live = { containers: [{ name: "old" }, { name: "app", image: "a" }, { name: "proxy", image: "p" }] };
  const out = smp(live, {
    "$setElementOrder/containers": [{ name: "app" }, { name: "new" }],
    containers: [{ name: "new", image: "n" }, { $patch: "delete", name: "old" }],
  });
  assert.deepEqual((out.containers as J[]).map((c) => c.name), ["app", "proxy", "new"]);
});

Deno.test("mergeMap() honours $patch: delete and $patch: replace on list elements", () => {
  const out = smp(spec(), { containers: [{ name: "side", $patch: "delete" }] });
  assert.deepEqual((out.containers as J[]).map((c) => c.name), ["web"]);
  const replaced = smp(spec(), { containers: [{ $patch: "replace" }, { name: "only", image: "x" }] });
  assert.deepEqual(replaced.containers, [{ name: "only", image: "x" }]);
});

Deno.test("mergeMap() honours $patch: replace, delete and merge on maps", () => {
  assert.deepEqual(smp(spec(), { nodeSelector: { $patch: "replace", gpu: "yes" } }).nodeSelector, {
    gpu: "yes",
  });
  assert.deepEqual(smp(spec(), { nodeSelector: { $patch: "delete" } }).nodeSelector, {});
  assert.deepEqual(smp(spec(), { nodeSelector: { $patch: "merge", gpu: "yes" } }).nodeSelector, {
    disk: "ssd",
    zone: "a",
    gpu: "yes",
  });
  assert.deepEqual(smp({ a: 1 }, { $patch: "replace", b: 2 }, "V1ObjectMeta"), { b: 2 });
});

Deno.test("mergeMap() clears the keys missing from $retainKeys", () => {
  const deploymentSpec = { replicas: 1, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } };
  const out = smp(
    deploymentSpec,
    { strategy: { $retainKeys: ["type"], type: "Recreate" } },
    "V1DeploymentSpec",
  );
  assert.deepEqual(out.strategy, { type: "Recreate" });
  const volumes = { volumes: [{ name: "cfg", configMap: { name: "c" } }, { name: "data", emptyDir: {} }] };
  const patched = smp(volumes, {
    volumes: [{ $retainKeys: ["name", "secret"], name: "cfg", secret: { secretName: "s" } }],
  });
  assert.deepEqual(patched.volumes, [{ name: "cfg", secret: { secretName: "s" } }, {
    name: "data",
    emptyDir: {},
  }]);
});

Deno.test("mergeMap() drops nulls and directives from values that are new to the object", () => {
  const out = smp({ containers: [] }, {
    affinity: { nodeAffinity: null, podAffinity: { x: 1 } },
    initContainers: [{ name: "i", image: "x", env: null }, { name: "gone", $patch: "delete" }],
    containers: [{ name: "c", image: "y" }],
  });
  assert.deepEqual(out, {
    containers: [{ name: "c", image: "y" }],
    affinity: { podAffinity: { x: 1 } },
    initContainers: [{ name: "i", image: "x" }],
  });
});

Deno.test("mergeMap() replaces a value whose JSON type changes", () => {
  assert.deepEqual(smp({ nodeSelector: "x" }, { nodeSelector: { a: "b", c: null } }).nodeSelector, {
    a: "b",
  });
  assert.deepEqual(smp(spec(), { containers: "none" }).containers, "none");
});

Deno.test("mergeMap() keeps map keys of map fields free and merges their values", () => {
  const out = smp({ labels: { a: "1" }, annotations: { x: "y" } }, { labels: { b: "2" } }, "V1ObjectMeta");
  assert.deepEqual(out, { labels: { a: "1", b: "2" }, annotations: { x: "y" } });
});

Deno.test("mergeMap() replaces a selector whose strategy is replace (PodDisruptionBudget)", () => {
  const out = smp(
    { selector: { matchLabels: { a: "1" }, matchExpressions: [{ key: "k", operator: "Exists" }] } },
    { selector: { matchLabels: { b: "2" } } },
    "V1PodDisruptionBudgetSpec",
  );
  assert.deepEqual(out.selector, { matchLabels: { b: "2" } });
});

Deno.test("mergeMap() rejects list items without their merge key", () => {
  assert.deepEqual(failure(spec(), { containers: [{ image: "nginx" }] }), {
    code: 400,
    message: "map: map[image:nginx] does not contain declared merge key: name",
  });
  assert.deepEqual(failure(spec(), { containers: [{ $patch: "delete", image: "x" }] }), {
    code: 400,
    message: "map: map[$patch:delete image:x] does not contain declared merge key: name",
  });
});

Deno.test("mergeMap() rejects malformed directives with upstream's messages", () => {
  assert.deepEqual(failure(spec(), { nodeSelector: { $patch: "frob" } }), {
    code: 400,
    message: "unknown patch type: frob in map: map[$patch:frob]",
  });
  assert.deepEqual(failure(spec(), { containers: [{ name: "web", $patch: 1 }] }), {
    code: 400,
    message: "unknown patch type: %!s(int64=1) in map: map[$patch:1 name:web]",
  });
  assert.deepEqual(failure(spec(), { "$setElementOrder/containers": "web" }), {
    code: 400,
    message: "expected a []interface {}, but received a string",
  });
  assert.deepEqual(failure(spec(), { "$setElementOrderx": [] }), {
    code: 400,
    message: "invalid patch format of setElementOrder list",
  });
  assert.deepEqual(failure(spec(), { "$deleteFromPrimitiveList": ["a"] }), {
    code: 400,
    message: "invalid patch format of primitive list",
  });
  assert.deepEqual(failure(spec(), { $retainKeys: "dnsPolicy" }), {
    code: 400,
    message: "invalid patch format of retainKeys",
  });
  assert.deepEqual(failure(spec(), { $retainKeys: ["dnsPolicy"], hostname: "h" }), {
    code: 400,
    message: "invalid patch format of retainKeys",
  });
});

Deno.test("mergeMap() rejects a patch list out of $setElementOrder order", () => {
  assert.deepEqual(
    failure(spec(), {
      "$setElementOrder/containers": [{ name: "web" }, { name: "side" }],
      containers: [{ name: "side", image: "a" }, { name: "web", image: "b" }],
    }),
    {
      code: 400,
      message: "The order in patch list:\n[map[image:a name:side] map[image:b name:web]]\n doesn't match " +
        "$setElementOrder list:\n[map[name:web] map[name:side]]\n",
    },
  );
});

Deno.test("mergeMap() refuses lists of lists and mixed element types", () => {
  assert.deepEqual(failure({ finalizers: [["a"]] }, { finalizers: [["b"]] }, "V1ObjectMeta"), {
    code: 422,
    message: "lists of lists are not supported",
  });
  assert.deepEqual(failure({ finalizers: ["a"] }, { finalizers: [1] }, "V1ObjectMeta"), {
    code: 400,
    message: "list element types are not identical: [[a] [1]]",
  });
});

Deno.test("mergeMap() refuses to merge a list of maps that has no merge key", () => {
  assert.deepEqual(failure({ x: [{ a: 1 }] }, { "$deleteFromPrimitiveList/x": [{ a: 1 }] }, "V1ObjectMeta"), {
    code: 400,
    message: "cannot merge lists without merge key for interface",
  });
});
