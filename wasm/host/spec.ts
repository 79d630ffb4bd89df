/**
 * What the node asks a sandbox to run (plain data, sent over the sandbox IPC), and how a
 * container ended.
 * @module
 */
import type { PreparedComponent } from "../component_cache.ts";
import type { PodNetwork } from "./pod_fetch.ts";

/** A volume mount: a host directory shown to the guest at `guestPath`. */
export interface Mount {
  hostPath: string;
  guestPath: string;
  readOnly?: boolean;
}

/** An address a proxy component is served on (the pod IP and a declared containerPort). */
export interface ListenAddress {
  ip: string;
  port: number;
}

/** One Wasm container. */
export interface ContainerSpec {
  /** Unique in the sandbox (the node's container id). */
  id: string;
  component: PreparedComponent;
  env?: [string, string][];
  /** argv, including argv[0] (defaults to the container name). */
  args?: string[];
  /** The guest's initial working directory (`workingDir`). */
  cwd?: string;
  mounts?: Mount[];
  /** Where a proxy is served (ignored for commands). */
  listen?: ListenAddress[];
  /** `resources.limits.memory` in bytes: the cap of every linear memory, and of their sum. */
  memoryLimitBytes?: number;
  /**
   * Outgoing `wasi:http` destinations: `*`, a host, `host:port`, or an IPv4 CIDR
   * (default: `*` for proxies, none for commands).
   */
  allowOutgoing?: string[];
  /** At most this many instances of a proxy serve requests at once (default 4). */
  maxConcurrency?: number;
  /**
   * A proxy's instance that served no request for this long is dropped, its linear memory
   * returned; the next request instantiates a fresh one (default 30,000 ms; 0: keep instances).
   */
  idleInstanceMs?: number;
  /**
   * The pod's address and DNS configuration: outgoing `wasi:http` connections leave from the pod
   * address and host names resolve through the pod's resolvers (see `pod_fetch.ts`). Without it
   * the sandbox's own address and resolver are used.
   */
  network?: PodNetwork;
}

/** How a container ended. `reason` follows the kubelet's words. */
export interface ContainerExit {
  exitCode: number;
  /** `Completed`, `Error`, `OOMKilled`, `Unresponsive` (spun past the deadline) or `SandboxLost`. */
  reason: "Completed" | "Error" | "OOMKilled" | "Unresponsive" | "SandboxLost";
  message?: string;
  /**
   * True when the container did nothing wrong: its sandbox died because of another container
   * (or was killed). The node re-creates it in a new sandbox without counting a restart.
   */
  collateral?: boolean;
}
