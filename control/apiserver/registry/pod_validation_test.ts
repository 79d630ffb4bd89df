import assert from "node:assert/strict";
import { invalid } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { defaultPod } from "./pod_defaults.ts";
import { validatePod } from "./pod_validation.ts";

function pod(spec: Record<string, unknown>, name = "web"): KubeObject {
  const p: KubeObject = { metadata: { name, namespace: "default" }, spec };
  defaultPod(p, { operation: "CREATE" });
  return p;
}

const messages = (p: KubeObject, old?: KubeObject) =>
  validatePod(p, old).map((c) => `${c.field}: ${c.message}`);

Deno.test("validatePod() accepts a defaulted minimal pod", () => {
  assert.deepEqual(validatePod(pod({ containers: [{ name: "web", image: "nginx" }] })), []);
});

Deno.test("validatePod() rejects a pod without containers", () => {
  assert.deepEqual(messages(pod({ containers: [] })), ["spec.containers: Required value"]);
});

Deno.test("validatePod() rejects a container without an image", () => {
  assert.deepEqual(messages(pod({ containers: [{ name: "web" }] })), [
    "spec.containers[0].image: Required value",
  ]);
});

Deno.test("validatePod() rejects duplicate and malformed container names", () => {
  const errs = messages(
    pod({ containers: [{ name: "a", image: "x" }, { name: "a", image: "x" }, { name: "B", image: "x" }] }),
  );
  assert.ok(errs.includes('spec.containers[1].name: Duplicate value: "a"'));
  assert.ok(
    errs.some((e) => e.startsWith('spec.containers[2].name: Invalid value: "B": a lowercase RFC 1123 label')),
  );
});

Deno.test("validatePod() rejects ports out of range", () => {
  const errs = messages(pod({ containers: [{ name: "a", image: "x", ports: [{ containerPort: 70000 }] }] }));
  assert.deepEqual(errs, [
    "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
  ]);
});

Deno.test("validatePod() checks a grpc probe's port, as upstream's validateGRPCAction", () => {
  const probe = (grpc: Record<string, unknown>) =>
    pod({ containers: [{ name: "a", image: "x", livenessProbe: { grpc } }] });
  assert.deepEqual(messages(probe({ port: 50051, service: "db" })), []);
  assert.deepEqual(messages(probe({ port: 0 })), [
    "spec.containers[0].livenessProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive",
  ]);
  assert.deepEqual(messages(probe({})), [
    "spec.containers[0].livenessProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive",
  ]);
  const livenessProbe = { grpc: { port: 1 }, terminationGracePeriodSeconds: 0 };
  assert.deepEqual(messages(pod({ containers: [{ name: "a", image: "x", livenessProbe }] })), [
    "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: " +
    "must be greater than 0",
  ]);
});

Deno.test("validatePod() checks lifecycle hooks as upstream's validateLifecycle", () => {
  const hooks = (lifecycle: Record<string, unknown>, grace?: number) =>
    pod({
      containers: [{ name: "a", image: "x", lifecycle }],
      ...(grace === undefined ? {} : { terminationGracePeriodSeconds: grace }),
    });
  assert.deepEqual(
    messages(hooks({ postStart: { exec: { command: ["true"] } }, preStop: { sleep: { seconds: 5 } } })),
    [],
  );
  assert.deepEqual(messages(hooks({ preStop: {} })), [
    "spec.containers[0].lifecycle.preStop: Required value: must specify a handler type",
  ]);
  assert.deepEqual(messages(hooks({ postStart: { exec: { command: [] }, sleep: { seconds: 1 } } })), [
    "spec.containers[0].lifecycle.postStart.sleep: Forbidden: may not specify more than 1 handler type",
    "spec.containers[0].lifecycle.postStart.exec.command: Required value",
  ]);
  assert.deepEqual(messages(hooks({ preStop: { sleep: { seconds: 10 } } }, 5)), [
    "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 10: must be greater than 0 and less than " +
    "terminationGracePeriodSeconds (5). Please enable PodLifecycleSleepActionAllowZero feature gate if you " +
    "need a sleep of zero duration.",
  ]);
});

Deno.test("validatePod() lets pods/ephemeralcontainers only add ephemeral containers, as upstream", () => {
  const base = pod({ containers: [{ name: "app", image: "x" }] });
  const debug = { name: "debugger", image: "busybox", stdin: true, tty: true, targetContainerName: "app" };
  const withDebug = pod({ containers: [{ name: "app", image: "x" }], ephemeralContainers: [debug] });
  assert.deepEqual(messages(withDebug), ["spec.ephemeralContainers: Forbidden: cannot be set on create"]);
  const v = (next: KubeObject, old: KubeObject) =>
    validatePod(next, old, "ephemeralcontainers").map((c) => `${c.field}: ${c.message}`);
  assert.deepEqual(v(withDebug, base), []);
  // A plain update may not add one.
  assert.match(messages(withDebug, base).join("\n"), /spec: Forbidden: pod updates may not change fields/);
  const changed = pod({
    containers: [{ name: "app", image: "x" }],
    ephemeralContainers: [{ ...debug, image: "other" }],
  });
  assert.deepEqual(v(changed, withDebug), [
    'spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be changed\n',
  ]);
  assert.deepEqual(v(base, withDebug), [
    'spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed\n',
  ]);
  const bad = pod({
    containers: [{ name: "app", image: "x" }],
    ephemeralContainers: [
      { name: "app", image: "b", ports: [{ containerPort: 80 }], targetContainerName: "nope" },
    ],
  });
  assert.deepEqual(v(bad, base), [
    'spec.ephemeralContainers[0].name: Duplicate value: "app"',
    'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"',
    "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
  ]);
});

Deno.test("validatePod() rejects an unknown restartPolicy with upstream's supported list", () => {
  const errs = messages(pod({ containers: [{ name: "a", image: "x" }], restartPolicy: "Sometimes" }));
  assert.deepEqual(errs, [
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ]);
});

Deno.test("validatePod() rejects requests above limits", () => {
  const errs = messages(pod({
    containers: [{ name: "a", image: "x", resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } }],
  }));
  assert.deepEqual(errs, [
    'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
  ]);
});

Deno.test("validatePod() rejects mounts of undeclared volumes", () => {
  const errs = messages(
    pod({ containers: [{ name: "a", image: "x", volumeMounts: [{ name: "data", mountPath: "/d" }] }] }),
  );
  assert.deepEqual(errs, ['spec.containers[0].volumeMounts[0].name: Not found: "data"']);
});

Deno.test("validatePod() formats an invalid pod name exactly as the API server does", () => {
  const p = pod({ containers: [{ name: "a", image: "x" }] }, "My_Pod");
  const err = invalid("Pod", "", "My_Pod", validatePod(p));
  assert.equal(
    err.message,
    `Pod "My_Pod" is invalid: metadata.name: Invalid value: "My_Pod": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
  assert.equal(err.status.code, 422);
});

Deno.test("validatePod() allows an image change on update", () => {
  const old = pod({ containers: [{ name: "a", image: "nginx:1" }] });
  const next = structuredClone(old);
  next.spec.containers[0].image = "nginx:2";
  assert.deepEqual(validatePod(next, old), []);
});

Deno.test("validatePod() forbids other spec changes on update", () => {
  const old = pod({ containers: [{ name: "a", image: "x", ports: [{ containerPort: 80 }] }] });
  const next = structuredClone(old);
  next.spec.containers[0].ports[0].containerPort = 81;
  const errs = validatePod(next, old);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].field, "spec");
  assert.match(
    errs[0].message!,
    /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,/,
  );
});

Deno.test("validatePod() only lets activeDeadlineSeconds decrease", () => {
  const old = pod({ containers: [{ name: "a", image: "x" }], activeDeadlineSeconds: 10 });
  const next = structuredClone(old);
  next.spec.activeDeadlineSeconds = 20;
  assert.deepEqual(messages(next, old), [
    "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value",
  ]);
});
