/**
 * The sandbox's container spec (`wasm/host/spec.ts`) for a CRI ContainerConfig. Pure.
 *
 * - argv: `command` then `args`; without a command, the container's name is argv[0] (the
 *   component's own entry point has no default arguments to keep, unlike an image's CMD).
 * - A proxy (wasi:http) component is served on each declared TCP `containerPort` of the pod IP,
 *   or on `defaultPort` (8080) when the container declares none; a command listens nowhere.
 * - Memory: `limits.memory`, or `defaultMemoryLimitBytes` (256 MiB) so no guest can take the node.
 * @module
 */
import type { PreparedComponent } from "../../../wasm/component_cache.ts";
import type { ContainerSpec } from "../../../wasm/host/spec.ts";
import type { ContainerConfig, DnsConfig } from "../api.ts";

export interface SpecDefaults {
  defaultPort?: number;
  defaultMemoryLimitBytes?: number;
  /** Idle proxy instances are dropped after this long (the sandbox's default when absent). */
  idleInstanceMs?: number;
}

export function containerSpec(
  id: string,
  config: ContainerConfig,
  component: PreparedComponent,
  podIP: string,
  defaults: SpecDefaults = {},
  dns?: DnsConfig,
): ContainerSpec {
  const ports = config.ports.filter((p) => p.protocol === "TCP").map((p) => p.containerPort);
  return {
    id,
    component,
    env: config.envs.map((e) => [e.key, e.value]),
    args: config.command.length
      ? [...config.command, ...config.args]
      : [config.metadata.name, ...config.args],
    cwd: config.workingDir || undefined,
    mounts: config.mounts.map((m) => ({
      hostPath: m.hostPath,
      guestPath: m.containerPath,
      readOnly: m.readonly,
    })),
    listen: component.kind === "proxy"
      ? (ports.length ? ports : [defaults.defaultPort ?? 8080]).map((port) => ({ ip: podIP, port }))
      : undefined,
    memoryLimitBytes: config.resources.memoryLimitInBytes ?? defaults.defaultMemoryLimitBytes ??
      256 * 1024 * 1024,
    ...(defaults.idleInstanceMs !== undefined ? { idleInstanceMs: defaults.idleInstanceMs } : {}),
    // Outgoing wasi:http leaves from the pod's address and resolves through the pod's DNS.
    network: { podIP, ...(dns ? { dns } : {}) },
  };
}
