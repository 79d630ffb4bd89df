/**
 * The Linux parts of the CRI configs, from the pod spec, as the kubelet's
 * `generateLinuxContainerConfig` and `determineEffectiveSecurityContext` build them:
 *
 * - resources: `requests.cpu` → CPU shares (1024 per core, at least 2), `limits.cpu` → a CFS quota
 *   over a 100 ms period (at least 1 ms), `limits.memory` → the memory limit;
 * - the effective securityContext: the container's fields over the pod's (`runAsUser`,
 *   `runAsGroup`, `runAsNonRoot`, `seccompProfile`), the pod's `supplementalGroups` and `fsGroup`;
 * - `no_new_privs`: set unless `allowPrivilegeEscalation: true` is asked for, or the container is
 *   privileged or adds `CAP_SYS_ADMIN`. (Upstream sets it only for `allowPrivilegeEscalation:
 *   false`; Skiff's default is the secure one, see docs/containers.md.)
 * - seccomp: `RuntimeDefault` unless the pod or container asks for another profile (upstream's
 *   kubelet flag `--seccomp-default`, on here).
 *
 * Pure.
 * @module
 */
import type { Container, Pod, SeccompProfile } from "kubernetes-types/core/v1.d.ts";
import type { LinuxContainerConfig, LinuxPodSandboxConfig, SecurityProfile } from "../cri/api.ts";
import { milliValue, quantityValue } from "../env/quantity.ts";

export const CPU_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MIN_QUOTA_US = 1000;

/** Upstream's `milliCPUToShares`. */
export function milliCpuToShares(milli: number | undefined): number {
  if (!milli) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000));
}

/** Upstream's `milliCPUToQuota`. */
export function milliCpuToQuota(milli: number | undefined, period = CPU_PERIOD_US): number | undefined {
  if (!milli) return undefined;
  return Math.max(MIN_QUOTA_US, Math.floor((milli * period) / 1000));
}

function seccomp(p: SeccompProfile | undefined): SecurityProfile | undefined {
  if (!p) return undefined;
  return { profileType: p.type as SecurityProfile["profileType"], localhostRef: p.localhostProfile };
}

function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/** The container's Linux config. */
export function linuxContainerConfig(pod: Pod, c: Container): LinuxContainerConfig {
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const requests = c.resources?.requests ?? {};
  const limits = c.resources?.limits ?? {};
  // API defaulting copies limits into missing requests; do it here too for objects that skipped it.
  const cpuRequest = milliValue(requests.cpu ?? limits.cpu);
  const privileged = sc.privileged === true;
  const adds = (sc.capabilities?.add ?? []).map(capName);
  const escalation = sc.allowPrivilegeEscalation === true || privileged || adds.includes("CAP_SYS_ADMIN");
  const groups = [...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])];
  return {
    resources: {
      cpuShares: milliCpuToShares(cpuRequest),
      cpuQuota: milliCpuToQuota(milliValue(limits.cpu)),
      cpuPeriod: CPU_PERIOD_US,
      memoryLimitInBytes: quantityValue(limits.memory),
    },
    securityContext: {
      capabilities: sc.capabilities
        ? { addCapabilities: sc.capabilities.add ?? [], dropCapabilities: sc.capabilities.drop ?? [] }
        : undefined,
      privileged,
      runAsUser: sc.runAsUser ?? psc.runAsUser,
      runAsGroup: sc.runAsGroup ?? psc.runAsGroup,
      runAsNonRoot: sc.runAsNonRoot ?? psc.runAsNonRoot,
      readonlyRootfs: sc.readOnlyRootFilesystem === true,
      supplementalGroups: [...new Set(groups)],
      noNewPrivs: !escalation,
      unmaskedProc: sc.procMount === "Unmasked",
      seccomp: seccomp(sc.seccompProfile) ?? seccomp(psc.seccompProfile) ?? { profileType: "RuntimeDefault" },
    },
  };
}

/** The pod's Linux sandbox config: sysctls, identity, and which namespaces are the node's. */
export function linuxSandboxConfig(pod: Pod): LinuxPodSandboxConfig {
  const psc = pod.spec?.securityContext ?? {};
  return {
    sysctls: Object.fromEntries((psc.sysctls ?? []).map((s) => [s.name, s.value])),
    securityContext: {
      namespaceOptions: {
        network: pod.spec?.hostNetwork ? "NODE" : "POD",
        pid: pod.spec?.hostPID ? "NODE" : pod.spec?.shareProcessNamespace ? "POD" : "CONTAINER",
        ipc: pod.spec?.hostIPC ? "NODE" : "POD",
      },
      runAsUser: psc.runAsUser,
      runAsGroup: psc.runAsGroup,
      supplementalGroups: psc.supplementalGroups,
    },
  };
}
