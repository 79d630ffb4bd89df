import assert from "node:assert/strict";
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import {
  linuxContainerConfig,
  linuxSandboxConfig,
  milliCpuToQuota,
  milliCpuToShares,
} from "./linux_config.ts";

function pod(c: Container, spec: Partial<NonNullable<Pod["spec"]>> = {}): [Pod, Container] {
  return [{ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [c], ...spec } }, c];
}

Deno.test("milliCpuToShares() and milliCpuToQuota() follow the kubelet's conversions and minimums", () => {
  assert.equal(milliCpuToShares(undefined), 2);
  assert.equal(milliCpuToShares(1), 2);
  assert.equal(milliCpuToShares(500), 512);
  assert.equal(milliCpuToShares(2000), 2048);
  assert.equal(milliCpuToQuota(undefined), undefined);
  assert.equal(milliCpuToQuota(5), 1000, "at least 1 ms per period");
  assert.equal(milliCpuToQuota(250), 25_000);
});

Deno.test("linuxContainerConfig() maps resources: requests to shares, limits to quota and memory", () => {
  const r = linuxContainerConfig(
    ...pod({ name: "c", resources: { requests: { cpu: "250m" }, limits: { cpu: "1", memory: "64Mi" } } }),
  );
  assert.deepEqual(r.resources, {
    cpuShares: 256,
    cpuQuota: 100_000,
    cpuPeriod: 100_000,
    memoryLimitInBytes: 64 * 2 ** 20,
  });
  const onlyLimit = linuxContainerConfig(...pod({ name: "c", resources: { limits: { cpu: "500m" } } }));
  assert.equal(onlyLimit.resources.cpuShares, 512, "a missing request defaults to the limit");
  const none = linuxContainerConfig(...pod({ name: "c" }));
  assert.deepEqual(none.resources, {
    cpuShares: 2,
    cpuQuota: undefined,
    cpuPeriod: 100_000,
    memoryLimitInBytes: undefined,
  });
});

Deno.test("linuxContainerConfig() takes the container's securityContext over the pod's, with secure defaults", () => {
  const d = linuxContainerConfig(...pod({ name: "c" }));
  assert.equal(d.securityContext.noNewPrivs, true, "no_new_privs by default (see docs/containers.md)");
  assert.deepEqual(d.securityContext.seccomp, { profileType: "RuntimeDefault" });
  assert.equal(d.securityContext.privileged, false);
  assert.equal(d.securityContext.readonlyRootfs, false);

  const c = linuxContainerConfig(...pod(
    {
      name: "c",
      securityContext: {
        runAsUser: 1001,
        readOnlyRootFilesystem: true,
        capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] },
        seccompProfile: { type: "Unconfined" },
        procMount: "Unmasked",
      },
    },
    {
      securityContext: {
        runAsUser: 5,
        runAsGroup: 6,
        runAsNonRoot: true,
        supplementalGroups: [7, 8],
        fsGroup: 8,
        seccompProfile: { type: "Localhost", localhostProfile: "x.json" },
      },
    },
  ));
  assert.equal(c.securityContext.runAsUser, 1001, "the container's value wins");
  assert.equal(c.securityContext.runAsGroup, 6, "the pod's value fills in");
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.deepEqual(c.securityContext.supplementalGroups, [7, 8], "supplementalGroups and fsGroup, once each");
  assert.deepEqual(c.securityContext.capabilities, {
    addCapabilities: ["NET_ADMIN"],
    dropCapabilities: ["ALL"],
  });
  assert.equal(c.securityContext.readonlyRootfs, true);
  assert.deepEqual(c.securityContext.seccomp, { profileType: "Unconfined", localhostRef: undefined });
  assert.equal(c.securityContext.unmaskedProc, true);

  const podSeccomp = linuxContainerConfig(
    ...pod({ name: "c" }, {
      securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "x.json" } },
    }),
  );
  assert.deepEqual(podSeccomp.securityContext.seccomp, { profileType: "Localhost", localhostRef: "x.json" });

  for (
    const sc of [{ allowPrivilegeEscalation: true }, { privileged: true }, {
      capabilities: { add: ["SYS_ADMIN"] },
    }]
  ) {
    assert.equal(
      linuxContainerConfig(...pod({ name: "c", securityContext: sc })).securityContext.noNewPrivs,
      false,
      JSON.stringify(sc),
    );
  }
  assert.equal(
    linuxContainerConfig(...pod({ name: "c", securityContext: { allowPrivilegeEscalation: false } }))
      .securityContext.noNewPrivs,
    true,
  );
});

Deno.test("linuxSandboxConfig() carries the pod's sysctls, identity and host namespaces", () => {
  const [p] = pod({ name: "c" }, {
    securityContext: {
      sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 1" }],
      runAsUser: 3,
      supplementalGroups: [4],
    },
  });
  assert.deepEqual(linuxSandboxConfig(p), {
    sysctls: { "net.ipv4.ping_group_range": "0 1" },
    securityContext: {
      namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD" },
      runAsUser: 3,
      runAsGroup: undefined,
      supplementalGroups: [4],
    },
  });
  const [host] = pod({ name: "c" }, { hostNetwork: true, hostPID: true, hostIPC: true });
  assert.deepEqual(linuxSandboxConfig(host).securityContext?.namespaceOptions, {
    network: "NODE",
    pid: "NODE",
    ipc: "NODE",
  });
  const [shared] = pod({ name: "c" }, { shareProcessNamespace: true });
  assert.equal(linuxSandboxConfig(shared).securityContext?.namespaceOptions?.pid, "POD");
});
