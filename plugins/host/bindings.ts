/**
 * The guest side of each kind, as the runner uses it: the kind's operations (run on the plugin's
 * exported interface) and, for worlds that import more than `skiff:host/*`, those imports
 * (served by the host through nested host calls). One entry per kind; a kind without an entry
 * cannot run in a runner.
 * @module
 */
import type { PluginKind } from "../../control/api/plugins.ts";
import { admissionOps } from "../admission/binding.ts";
import { ipamOps, networkImports, networkOps } from "../network/binding.ts";
import { runtimeImports, runtimeOps } from "../runtime/binding.ts";
import { schedulerOps } from "../scheduler/binding.ts";
import { storageOps } from "../storage/binding.ts";
import type { GuestOps } from "./protocol.ts";

/**
 * Performs a nested host call synchronously (the runner blocks until the host answers) and
 * returns its value; throws the WIT error variant on `err`.
 */
export type HostCallFn = (capability: string, fn: string, args: unknown[]) => unknown;

/** One kind's guest side. */
export interface GuestBinding {
  ops: GuestOps;
  /** World imports besides `skiff:host/*` (unversioned keys, as jco looks them up). */
  imports?(hostCall: HostCallFn): Record<string, Record<string, unknown>>;
}

/** Every kind a runner runs. */
export const GUEST_BINDINGS: Partial<Record<PluginKind, GuestBinding>> = {
  admission: { ops: admissionOps },
  scheduler: { ops: schedulerOps },
  ipam: { ops: ipamOps },
  network: { ops: networkOps, imports: networkImports },
  runtime: { ops: runtimeOps, imports: runtimeImports },
  storage: { ops: storageOps },
};
