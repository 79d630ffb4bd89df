import assert from "node:assert/strict";
import type { ResourceDef } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import type { AdmissionAttributes, Operation } from "../context.ts";
import { defaultTolerationSeconds, withDefaultTolerations } from "./default_toleration_seconds.ts";

const toleration = (key: string, seconds: number) => ({
  key,
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: seconds,
});

Deno.test("withDefaultTolerations() adds not-ready and unreachable tolerations of 300 s by default", () => {
  assert.deepEqual(withDefaultTolerations(undefined), [
    toleration("node.kubernetes.io/not-ready", 300),
    toleration("node.kubernetes.io/unreachable", 300),
  ]);
});

Deno.test("withDefaultTolerations() uses the configured seconds for each taint", () => {
  assert.deepEqual(withDefaultTolerations([], { notReady: 7, unreachable: 0 }), [
    toleration("node.kubernetes.io/not-ready", 7),
    toleration("node.kubernetes.io/unreachable", 0),
  ]);
});

Deno.test("withDefaultTolerations() keeps the pod's own tolerations and adds only what is missing", () => {
  const own = [
    { key: "dedicated", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 },
  ];
  assert.deepEqual(withDefaultTolerations(own, { notReady: 60, unreachable: 60 }), [
    ...own,
    toleration("node.kubernetes.io/not-ready", 60),
  ]);
  // An empty key or an empty effect tolerates the taints already: nothing to add.
  const wildcard = [{ operator: "Exists" }];
  assert.equal(withDefaultTolerations(wildcard), wildcard);
  const anyEffect = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists" },
  ];
  assert.equal(withDefaultTolerations(anyEffect), anyEffect);
  // A NoSchedule toleration for the same key does not cover the NoExecute taint.
  assert.equal(
    withDefaultTolerations([{
      key: "node.kubernetes.io/unreachable",
      operator: "Exists",
      effect: "NoSchedule",
    }])
      .length,
    3,
  );
});

const podDef = { group: "", version: "v1", kind: "Pod", plural: "pods" } as ResourceDef;

function attrs(
  operation: Operation,
  object: KubeObject,
  extra: Partial<AdmissionAttributes> = {},
): AdmissionAttributes {
  return {
    operation,
    def: podDef,
    object,
    oldObject: null,
    namespace: "default",
    name: object.metadata.name!,
    subresource: "",
    user: { username: "admin", groups: [] },
    dryRun: false,
    ...extra,
  };
}

const pod = (): KubeObject => ({
  metadata: { name: "web" },
  spec: { containers: [{ name: "c", image: "x" }] },
});

Deno.test("DefaultTolerationSeconds admits pods on CREATE and UPDATE with the configured seconds", async () => {
  const plugin = defaultTolerationSeconds({ notReady: 30, unreachable: 45 });
  for (const op of ["CREATE", "UPDATE"] as const) {
    const p = pod();
    await plugin.admit!(attrs(op, p));
    assert.deepEqual(p.spec.tolerations, [
      toleration("node.kubernetes.io/not-ready", 30),
      toleration("node.kubernetes.io/unreachable", 45),
    ]);
  }
});

Deno.test("DefaultTolerationSeconds leaves subresources, other kinds and DELETE alone", async () => {
  const plugin = defaultTolerationSeconds();
  const status = pod();
  await plugin.admit!(attrs("UPDATE", status, { subresource: "status" }));
  assert.equal(status.spec.tolerations, undefined);
  const template = pod();
  await plugin.admit!(
    attrs("CREATE", template, { def: { ...podDef, kind: "PodTemplate", plural: "podtemplates" } }),
  );
  assert.equal(template.spec.tolerations, undefined);
  const other = pod();
  await plugin.admit!(attrs("CREATE", other, { def: { ...podDef, group: "example.com" } }));
  assert.equal(other.spec.tolerations, undefined);
  await plugin.admit!(attrs("DELETE", pod(), { object: null }));
});
