/**
 * The host side of nested host calls: a node supplies, per capability, a factory that binds the
 * capability's functions to one Plugin's grant (its bounds); {@linkcode hostCallHandler} routes
 * a runner's host calls to them, refusing ungranted capabilities (CapabilityDenied in the guest)
 * and functions the host does not provide. Capability effects are async and run in the node
 * agent's process, never in the runner (which has no `--allow-run`).
 *
 * @example
 * ```ts ignore
 * const handler = hostCallHandler(plugin, { "host-net": (grant) => hostNet(grant, node) });
 * await Runner.start({ config, onHostCall: handler });
 * ```
 * @module
 */
import { CAPABILITIES, type Grant, type PluginObject } from "../../control/api/plugins.ts";
import type { HostCall } from "./protocol.ts";
import { HostCallError, type HostCallHandler } from "./runner_client.ts";

/** One WIT function, host side: the guest's arguments and the context of the call being served. */
export type HostFn = (args: unknown[], context: unknown) => unknown | Promise<unknown>;

/** A capability's (or world import's) functions, keyed by their WIT names (kebab-case). */
export type HostFunctions = Record<string, HostFn>;

/** Binds a capability's functions to a Plugin's grant of it (its bounds). */
export type HostCapability = (grant: Grant, plugin: PluginObject) => HostFunctions;

/** `error::denied`: the call is outside the grant's bounds (the guest may handle it). */
export function hostDenied(message: string): HostCallError {
  return new HostCallError({ tag: "denied", val: message });
}

/** `error::invalid`: malformed arguments. */
export function hostInvalid(message: string): HostCallError {
  return new HostCallError({ tag: "invalid", val: message });
}

/** `error::failed`: the host could not do it. */
export function hostFailed(message: string): HostCallError {
  return new HostCallError({ tag: "failed", val: message });
}

/**
 * The host call handler of one Plugin: capabilities (`host-net`, ...) need a grant; world
 * imports (`ipam` of the network world) are always served, by `imports`.
 */
export function hostCallHandler(
  plugin: PluginObject,
  capabilities: Partial<Record<string, HostCapability>>,
  imports: Record<string, HostFunctions> = {},
): HostCallHandler {
  const name = plugin.metadata.name!;
  const bound = new Map<string, HostFunctions>();
  return (call: HostCall, context: unknown) => {
    let fns: HostFunctions | undefined = imports[call.capability];
    if ((CAPABILITIES as readonly string[]).includes(call.capability)) {
      const grant = plugin.spec.grants?.find((g) => g.capability === call.capability);
      if (!grant) {
        throw new HostCallError(
          null,
          `plugin "${name}" called skiff:host/${call.capability}.${call.fn}, which is not granted (add {capability: ${call.capability}} to spec.grants)`,
        );
      }
      const make = capabilities[call.capability];
      if (!make) throw hostDenied(`${call.capability} is not provided by this host`);
      fns = bound.get(call.capability);
      if (!fns) bound.set(call.capability, fns = make(grant, plugin));
    }
    const fn = fns?.[call.fn];
    if (!fn) throw hostDenied(`${call.capability}.${call.fn} is not provided by this host`);
    return Promise.resolve(fn(call.args, context));
  };
}
