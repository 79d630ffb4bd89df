import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { mountServiceAccountToken, shouldAutomount, TOKEN_MOUNT_PATH } from "./service_account.ts";

Deno.test("mountServiceAccountToken() mounts one token volume in every container that lacks the path", () => {
  const pod: KubeObject = {
    metadata: { name: "p" },
    spec: {
      initContainers: [{ name: "i" }],
      containers: [{ name: "a" }, {
        name: "b",
        volumeMounts: [{ name: "own", mountPath: TOKEN_MOUNT_PATH }],
      }],
      volumes: [{ name: "own", secret: { secretName: "s" } }],
    },
  };
  mountServiceAccountToken(pod, "kube-api-access-abcde");
  assert.deepEqual(pod.spec.initContainers[0].volumeMounts, [{
    name: "kube-api-access-abcde",
    readOnly: true,
    mountPath: TOKEN_MOUNT_PATH,
  }]);
  assert.deepEqual(pod.spec.containers[1].volumeMounts, [{ name: "own", mountPath: TOKEN_MOUNT_PATH }]);
  assert.deepEqual(pod.spec.volumes.map((v: { name: string }) => v.name), ["own", "kube-api-access-abcde"]);
  // Idempotent: a second pass reuses the volume.
  mountServiceAccountToken(pod, "kube-api-access-zzzzz");
  assert.equal(pod.spec.volumes.length, 2);
  assert.equal(pod.spec.containers[0].volumeMounts.length, 1);
});

Deno.test("shouldAutomount() prefers the pod's setting, then the account's, then true", () => {
  const pod = (v?: boolean): KubeObject => ({
    metadata: {},
    spec: v === undefined ? {} : { automountServiceAccountToken: v },
  });
  const sa = (v?: boolean): KubeObject => ({
    metadata: {},
    ...(v === undefined ? {} : { automountServiceAccountToken: v }),
  });
  assert.equal(shouldAutomount(sa(false), pod(true)), true);
  assert.equal(shouldAutomount(sa(false), pod()), false);
  assert.equal(shouldAutomount(sa(), pod()), true);
});
