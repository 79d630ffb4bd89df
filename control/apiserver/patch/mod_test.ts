/**
 * applyPatch() against the exact requests kubectl 1.32.4 sends, captured from a recording server:
 * `kubectl apply` (client-side), `label`, `annotate`, `scale`, `rollout restart`, `set image`,
 * `patch --type=json`.
 */
import assert from "node:assert/strict";
import { unknownFields } from "../../api/schema/mod.ts";
import { ApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { applyPatch, patchMediaType } from "./mod.ts";

const SMP = "application/strategic-merge-patch+json";
const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";

const OLD_MANIFEST =
  '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web",' +
  '"namespace":"default"},"spec":{"minReadySeconds":5,"replicas":2}}\n';

/** A live Deployment as the API server stores it after `kubectl apply` of the old manifest. */
function liveDeployment(): KubeObject {
  const container = (name: string, image: string) => ({
    name,
    image,
    imagePullPolicy: "IfNotPresent",
    resources: {},
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      labels: { app: "web" },
      uid: "0b8c6a3e-1111-2222-3333-444455556666",
      resourceVersion: "1234",
      generation: 1,
      creationTimestamp: "2025-01-01T00:00:00Z",
      annotations: {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": OLD_MANIFEST,
      },
    },
    spec: {
      replicas: 2,
      minReadySeconds: 5,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              ...container("web", "nginx:1.26"),
              ports: [{ containerPort: 80, protocol: "TCP" }, { containerPort: 8080, protocol: "TCP" }],
              env: [{ name: "A", value: "1" }, { name: "B", value: "2" }],
              volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
            },
            { ...container("sidecar", "busybox"), args: ["sleep", "3600"] },
          ],
          volumes: [{ name: "cfg", configMap: { name: "web-cfg", defaultMode: 420 } }],
          restartPolicy: "Always",
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          securityContext: {},
          schedulerName: "default-scheduler",
        },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    },
  };
}

// deno-lint-ignore no-explicit-any
type Any = any;

function statusOf(fn: () => unknown): ApiError["status"] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    return e.status;
  }
  assert.fail("no error");
}

Deno.test("applyPatch() applies kubectl apply's patch: image and env changes, a removed port, a deleted field", () => {
  const newManifest =
    '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"labels":{"app":"web"}}}\n';
  // kubectl 1.32.4: `kubectl apply -f new.yaml` (minReadySeconds dropped, nginx:1.27, port 8080 removed,
  // env B changed and C added).
  const patch = JSON.parse(
    '{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":' +
      JSON.stringify(newManifest) +
      '}},"spec":{"minReadySeconds":null,"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},' +
      '{"name":"sidecar"}],"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"B"},{"name":"C"}],' +
      '"$setElementOrder/ports":[{"containerPort":80}],"env":[{"name":"B","value":"3"},{"name":"C","value":"4"}],' +
      '"image":"nginx:1.27","name":"web","ports":[{"$patch":"delete","containerPort":8080}]}]}}}}',
  );
  const live = liveDeployment();
  const out: Any = applyPatch(SMP, live, patch, "V1Deployment");

  const expected: Any = liveDeployment();
  expected.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] = newManifest;
  delete expected.spec.minReadySeconds;
  const web = expected.spec.template.spec.containers[0];
  web.image = "nginx:1.27";
  web.ports = [{ containerPort: 80, protocol: "TCP" }];
  web.env = [{ name: "A", value: "1" }, { name: "B", value: "3" }, { name: "C", value: "4" }];
  assert.deepEqual(out, expected);
  assert.deepEqual(live, liveDeployment(), "the current object is left alone");
  assert.deepEqual(unknownFields(out, "V1Deployment"), []);
});

Deno.test("applyPatch() applies kubectl apply's patch: a container added in the middle, retainKeys on strategy and volumes", () => {
  // kubectl 1.32.4: `kubectl apply -f new2.yaml` (logger container between web and sidecar,
  // strategy Recreate, the cfg volume switched from a ConfigMap to a Secret).
  const patch = JSON.parse(
    '{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\\n"}},' +
      '"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"},"template":{"spec":{' +
      '"$setElementOrder/containers":[{"name":"web"},{"name":"logger"},{"name":"sidecar"}],' +
      '"$setElementOrder/volumes":[{"name":"cfg"}],"containers":[{"image":"fluent-bit:3","name":"logger"}],' +
      '"volumes":[{"$retainKeys":["name","secret"],"configMap":null,"name":"cfg","secret":{"secretName":"web-secret"}}]}}}}',
  );
  const out: Any = applyPatch(SMP, liveDeployment(), patch, "V1Deployment");
  assert.deepEqual(out.spec.strategy, { type: "Recreate" });
  assert.deepEqual(out.spec.template.spec.containers.map((c: Any) => c.name), ["web", "logger", "sidecar"]);
  assert.deepEqual(out.spec.template.spec.containers[1], { image: "fluent-bit:3", name: "logger" });
  assert.deepEqual(out.spec.template.spec.volumes, [{ name: "cfg", secret: { secretName: "web-secret" } }]);
  assert.equal(out.spec.template.spec.containers[0].image, "nginx:1.26");
  assert.deepEqual(unknownFields(out, "V1Deployment"), []);
});

Deno.test("applyPatch() applies kubectl set image's patch and keeps the container order", () => {
  const patch = {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
          containers: [{ image: "nginx:1.28", name: "web" }],
        },
      },
    },
  };
  const out: Any = applyPatch(SMP, liveDeployment(), patch, "V1Deployment");
  assert.deepEqual(out.spec.template.spec.containers.map((c: Any) => [c.name, c.image]), [
    ["web", "nginx:1.28"],
    ["sidecar", "busybox"],
  ]);
});

Deno.test("applyPatch() applies kubectl rollout restart's annotation to the pod template", () => {
  const patch = {
    spec: {
      template: {
        metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-26T15:49:33Z" } },
      },
    },
  };
  const out: Any = applyPatch(SMP, liveDeployment(), patch, "V1Deployment");
  assert.deepEqual(out.spec.template.metadata, {
    labels: { app: "web" },
    annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-26T15:49:33Z" },
  });
  assert.deepEqual(out.spec.template.spec, liveDeployment().spec.template.spec);
});

Deno.test("applyPatch() applies kubectl label and annotate merge patches", () => {
  const labeled: Any = applyPatch(MERGE, liveDeployment(), { metadata: { labels: { env: "prod" } } });
  assert.deepEqual(labeled.metadata.labels, { app: "web", env: "prod" });
  const unlabeled: Any = applyPatch(MERGE, labeled, { metadata: { labels: { app: null } } });
  assert.deepEqual(unlabeled.metadata.labels, { env: "prod" });
  const annotated: Any = applyPatch(MERGE, liveDeployment(), {
    metadata: { annotations: { note: "hello" } },
  });
  assert.equal(annotated.metadata.annotations.note, "hello");
  assert.equal(annotated.metadata.annotations["deployment.kubernetes.io/revision"], "1");
});

Deno.test("applyPatch() applies kubectl scale's merge patch to a Scale", () => {
  const scale: KubeObject = {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: "web", namespace: "default", resourceVersion: "1234" },
    spec: { replicas: 2 },
    status: { replicas: 2, selector: "app=web" },
  };
  const out = applyPatch(MERGE, scale, { spec: { replicas: 5 } }, "V1Scale");
  assert.deepEqual(out.spec, { replicas: 5 });
  assert.deepEqual(applyPatch(SMP, scale, { spec: { replicas: 7 } }, "V1Scale").spec, { replicas: 7 });
});

Deno.test("applyPatch() fails kubectl patch --type=json with a failed test as upstream: 422 Invalid", () => {
  const patch = [{ op: "test", path: "/spec/replicas", value: 5 }, {
    op: "replace",
    path: "/spec/replicas",
    value: 6,
  }];
  const status = statusOf(() => applyPatch(JSON_PATCH, liveDeployment(), patch, "V1Deployment"));
  assert.equal(status.code, 422);
  assert.equal(status.reason, "Invalid");
  assert.equal(status.message, "the server rejected our request due to an error in our request");
  assert.deepEqual(status.details?.causes, [
    { reason: "UnexpectedServerResponse", message: "testing value /spec/replicas failed: test failed" },
  ]);
  const ok = applyPatch(JSON_PATCH, liveDeployment(), [{ op: "replace", path: "/spec/replicas", value: 6 }]);
  assert.equal(ok.spec.replicas, 6);
});

Deno.test("applyPatch() refuses strategic merge patch without a schema type as upstream refuses it for custom resources", () => {
  const status = statusOf(() => applyPatch(SMP, { metadata: { name: "x" } }, { spec: {} }));
  assert.equal(status.code, 415);
  assert.equal(status.reason, "UnsupportedMediaType");
  assert.equal(
    status.message,
    "the body of the request was in an unknown format - accepted media types include: " +
      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
  );
  const merged = applyPatch(MERGE, { metadata: { name: "x" }, spec: { a: [1] } }, { spec: { a: [2] } });
  assert.deepEqual(merged.spec, { a: [2] });
});

Deno.test("applyPatch() refuses server-side apply and unknown patch types with a 415", () => {
  const apply = statusOf(() =>
    applyPatch("application/apply-patch+yaml", liveDeployment(), null, "V1Deployment")
  );
  assert.equal(apply.code, 415);
  assert.match(apply.message!, /server-side apply \(application\/apply-patch\+yaml\) is not supported/);
  const unknown = statusOf(() => applyPatch("application/json", liveDeployment(), {}, "V1Deployment"));
  assert.equal(unknown.code, 415);
  assert.equal(
    unknown.message,
    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, " +
      "application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
  );
});

Deno.test("applyPatch() accepts content type parameters", () => {
  assert.equal(patchMediaType("application/merge-patch+json; charset=utf-8"), "application/merge-patch+json");
  const out = applyPatch("application/merge-patch+json; charset=UTF-8", liveDeployment(), {
    spec: { replicas: 3 },
  });
  assert.equal(out.spec.replicas, 3);
});

Deno.test("applyPatch() rejects malformed strategic merge patch documents with a 400", () => {
  const array = statusOf(() => applyPatch(SMP, liveDeployment(), [{ op: "add" }], "V1Deployment"));
  assert.equal(array.code, 400);
  assert.equal(array.message, "json: cannot unmarshal array into Go value of type map[string]interface {}");
  const noKey = statusOf(() =>
    applyPatch(
      SMP,
      liveDeployment(),
      { spec: { template: { spec: { containers: [{ image: "x" }] } } } },
      "V1Deployment",
    )
  );
  assert.equal(noKey.code, 400);
  assert.equal(noKey.message, "map: map[image:x] does not contain declared merge key: name");
  assert.deepEqual(applyPatch(SMP, liveDeployment(), null, "V1Deployment"), liveDeployment());
});

Deno.test("applyPatch() rejects a result that is not an object and restores missing metadata", () => {
  const list = statusOf(() =>
    applyPatch(JSON_PATCH, liveDeployment(), [{ op: "replace", path: "", value: [1] }])
  );
  assert.equal(list.code, 422);
  assert.equal(list.reason, "Invalid");
  assert.match(list.message!, /^ "" is invalid: patch: Invalid value: "\[1\]": json: cannot unmarshal array/);
  const noMeta = applyPatch(JSON_PATCH, liveDeployment(), [{ op: "remove", path: "/metadata" }]);
  assert.deepEqual(noMeta.metadata, {});
  const deleted = applyPatch(SMP, liveDeployment(), { $patch: "delete" }, "V1Deployment");
  assert.deepEqual(deleted, { metadata: {} });
});

Deno.test("applyPatch() leaves unknown fields for the caller to prune or report", () => {
  const out = applyPatch(SMP, liveDeployment(), {
    spec: { replica: 3, template: { spec: { containers: [{ name: "web", imagee: "x" }] } } },
  }, "V1Deployment");
  assert.deepEqual(unknownFields(out, "V1Deployment"), [
    "spec.template.spec.containers[0].imagee",
    "spec.replica",
  ]);
});

Deno.test("applyPatch() treats a __proto__ key as a plain member in every patch type", () => {
  const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}}}');
  for (const type of [SMP, MERGE]) {
    const out: Any = applyPatch(type, liveDeployment(), patch, "V1Deployment");
    assert.ok(Object.hasOwn(out.metadata.labels, "__proto__"), type);
    assert.equal(Object.getPrototypeOf(out.metadata.labels), Object.prototype, type);
  }
  const json: Any = applyPatch(JSON_PATCH, liveDeployment(), [
    { op: "add", path: "/metadata/labels/__proto__", value: { polluted: "yes" } },
  ]);
  assert.ok(Object.hasOwn(json.metadata.labels, "__proto__"));
  assert.equal(({} as Any).polluted, undefined);
  assert.deepEqual(unknownFields(json, "V1Deployment"), []);
});
