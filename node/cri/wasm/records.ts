/**
 * The Wasm runtime's records of pod sandboxes and containers (kept on disk by record_store.ts),
 * and their CRI views and filters. Pure.
 * @module
 */
import type { ContainerExit, ContainerSpec } from "../../../wasm/host/spec.ts";
import type { ContainerStatus, PodSandbox, PodSandboxStatus } from "../api.ts";
import {
  containerMatches,
  containerOf,
  type ContainerRecordBase,
  containerStatusOf as baseContainerStatus,
  sandboxMatches,
  sandboxOf as baseSandbox,
  type SandboxRecordBase,
  sandboxStatusOf as baseSandboxStatus,
} from "../records.ts";

export { containerMatches, containerOf, sandboxMatches };

export const RUNTIME_NAME = "wasm";
export const RUNTIME_VERSION = "0.1.0";

/** A pod sandbox: an address in its namespace's sandbox group. */
export interface SandboxRecord extends SandboxRecordBase {
  group: string;
}

/** A container: its CRI state and the spec its sandbox runs. */
export interface ContainerRecord extends ContainerRecordBase {
  spec: ContainerSpec;
}

/** The terminated reason the kubelet sees. */
export function exitReason(exit: ContainerExit): string {
  // SandboxLost is ours; to the kubelet it is a plain failure.
  return exit.reason === "SandboxLost" ? "Error" : exit.reason;
}

export function sandboxStatusOf(s: SandboxRecord): PodSandboxStatus {
  return baseSandboxStatus(s, RUNTIME_NAME);
}

export function sandboxOf(s: SandboxRecord): PodSandbox {
  return baseSandbox(s, RUNTIME_NAME);
}

export function containerStatusOf(c: ContainerRecord): ContainerStatus {
  return baseContainerStatus(c);
}
