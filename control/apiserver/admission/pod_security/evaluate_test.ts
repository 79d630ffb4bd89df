import assert from "node:assert/strict";
import { checksFor, evaluatePod, forbiddenDetail } from "./evaluate.ts";
import { LATEST, type LevelVersion, policyToEvaluate } from "./policy.ts";

const lv = (level: LevelVersion["level"], minor?: number): LevelVersion => ({
  level,
  version: minor === undefined ? LATEST : { latest: false, minor },
});
const detail = (level: LevelVersion, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
  forbiddenDetail(evaluatePod(level, metadata, spec));

Deno.test("checksFor() runs baseline checks sorted by id, then restricted ones replacing what they override", () => {
  assert.deepEqual(checksFor(lv("privileged")), []);
  assert.deepEqual(checksFor(lv("baseline")).map((c) => c.id), [
    "appArmorProfile",
    "capabilities_baseline",
    "hostNamespaces",
    "hostPathVolumes",
    "hostPorts",
    "privileged",
    "procMount",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "sysctls",
    "windowsHostProcess",
  ]);
  assert.deepEqual(checksFor(lv("restricted")).map((c) => c.id), [
    "appArmorProfile",
    "hostNamespaces",
    "hostPorts",
    "privileged",
    "procMount",
    "seLinuxOptions",
    "sysctls",
    "windowsHostProcess",
    "allowPrivilegeEscalation",
    "capabilities_restricted",
    "restrictedVolumes",
    "runAsNonRoot",
    "runAsUser",
    "seccompProfile_restricted",
  ]);
  // Before v1.22 restricted kept the baseline capability check; runAsUser arrived in v1.23.
  const v121 = checksFor(lv("restricted", 21)).map((c) => c.id);
  assert.ok(v121.includes("capabilities_baseline") && !v121.includes("runAsUser"));
});

Deno.test("evaluatePod() words a privileged container's restricted violations as upstream", () => {
  const spec = { containers: [{ name: "c", securityContext: { privileged: true } }] };
  assert.equal(
    detail(lv("restricted"), spec),
    'privileged (container "c" must not set securityContext.privileged=true), ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
  assert.equal(
    detail(lv("baseline"), spec),
    'privileged (container "c" must not set securityContext.privileged=true)',
  );
});

Deno.test("evaluatePod() passes a pod that follows the restricted standard", () => {
  const spec = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{
      name: "c",
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      },
    }],
    volumes: [{ name: "data", emptyDir: {} }, { name: "cfg", configMap: { name: "x" } }],
  };
  assert.deepEqual(evaluatePod(lv("restricted"), {}, spec), []);
});

Deno.test("evaluatePod() words each baseline violation as upstream", () => {
  const base = lv("baseline");
  assert.equal(
    detail(base, { hostNetwork: true, hostPID: true }),
    "host namespaces (hostNetwork=true, hostPID=true)",
  );
  assert.equal(
    detail(base, {
      containers: [{ name: "a", ports: [{ hostPort: 8080 }, { hostPort: 80 }] }, {
        name: "b",
        ports: [{ hostPort: 80 }],
      }],
    }),
    'hostPort (containers "a", "b" use hostPorts 80, 8080)',
  );
  assert.equal(
    detail(base, {
      containers: [{
        name: "a",
        securityContext: { capabilities: { add: ["SYS_ADMIN", "CHOWN", "NET_ADMIN"] } },
      }],
    }),
    'non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)',
  );
  assert.equal(
    detail(base, { volumes: [{ name: "h", hostPath: { path: "/" } }] }),
    'hostPath volumes (volume "h")',
  );
  assert.equal(
    detail(base, {
      securityContext: { sysctls: [{ name: "kernel.msgmax" }, { name: "net.ipv4.tcp_rmem" }] },
    }),
    "forbidden sysctls (kernel.msgmax)",
  );
  assert.equal(
    detail(lv("baseline", 31), { securityContext: { sysctls: [{ name: "net.ipv4.tcp_rmem" }] } }),
    "forbidden sysctls (net.ipv4.tcp_rmem)",
  );
  assert.equal(
    detail(base, { containers: [{ name: "a", securityContext: { procMount: "Unmasked" } }] }),
    'procMount (container "a" must not set securityContext.procMount to "Unmasked")',
  );
  assert.equal(
    detail(base, { securityContext: { seccompProfile: { type: "Unconfined" } } }),
    'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
  );
  assert.equal(
    detail(base, {
      containers: [{ name: "a", securityContext: { seLinuxOptions: { type: "spc_t", user: "root" } } }],
    }),
    'seLinuxOptions (container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
  );
  assert.equal(
    detail(base, { containers: [{ name: "a" }] }, {
      annotations: { "container.apparmor.security.beta.kubernetes.io/a": "unconfined" },
    }),
    // joinQuote does not escape: upstream prints the annotation's %q value inside plain quotes.
    'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a="unconfined"")',
  );
});

Deno.test("evaluatePod() names restricted volume types and root users as upstream", () => {
  const r = lv("restricted");
  const compliant = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{
      name: "c",
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    }],
  };
  assert.equal(
    detail(r, {
      ...compliant,
      volumes: [{ name: "a", hostPath: { path: "/" } }, { name: "b", nfs: { server: "x", path: "/" } }],
    }),
    'restricted volume types (volumes "a", "b" use restricted volume types "hostPath", "nfs")',
  );
  assert.equal(
    detail(r, { ...compliant, securityContext: { ...compliant.securityContext, runAsUser: 0 } }),
    "runAsUser=0 (pod must not set runAsUser=0)",
  );
});

Deno.test("evaluatePod() checks a WebAssembly pod only on host namespaces, volumes and host ports", () => {
  const wasm = { wasm: true };
  assert.deepEqual(
    evaluatePod(
      lv("restricted"),
      {},
      { containers: [{ name: "c", securityContext: { privileged: true } }] },
      wasm,
    ),
    [],
  );
  assert.equal(
    forbiddenDetail(
      evaluatePod(lv("restricted"), {}, {
        hostNetwork: true,
        containers: [{ name: "c", ports: [{ hostPort: 80 }] }],
      }, wasm),
    ),
    'host namespaces (hostNetwork=true), hostPort (container "c" uses hostPort 80)',
  );
});

Deno.test("policyToEvaluate() reads levels and versions from labels and reports bad values", () => {
  const { policy, errors } = policyToEvaluate({
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/enforce-version": "v1.25",
    "pod-security.kubernetes.io/warn": "restricted",
  });
  assert.deepEqual(policy.enforce, { level: "baseline", version: { latest: false, minor: 25 } });
  assert.deepEqual(policy.warn, { level: "restricted", version: LATEST });
  assert.deepEqual(policy.audit, { level: "privileged", version: LATEST });
  assert.deepEqual(errors, []);
  const bad = policyToEvaluate({
    "pod-security.kubernetes.io/enforce": "strict",
    "pod-security.kubernetes.io/audit-version": "1.25",
  });
  assert.equal(bad.policy.enforce.level, "restricted");
  assert.deepEqual(bad.errors.map((e) => `${e.field}: ${e.message}`), [
    'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    'metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: "1.25": must be "latest" or "v1.x"',
  ]);
});
