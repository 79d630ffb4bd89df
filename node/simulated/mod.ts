/**
 * Simulated nodes for scale tests and demos (KWOK-style): many fake kubelets in one process.
 *
 * @example
 * ```ts
 * import { NodeSimulator } from "./node/simulated/mod.ts";
 * await using sim = new NodeSimulator(client, { count: 100 });
 * await sim.start();
 * ```
 * @module
 */
export { NodeSimulator, type SimulatorOptions } from "./simulator.ts";
export {
  DEFAULT_SHAPE,
  isRunningAndReady,
  leaseObject,
  NODE_LEASE_NAMESPACE,
  nodeObject,
  type NodeShape,
  nodeStatus,
  PodCidrAllocator,
  PodIPAllocator,
  runningPodStatus,
  SIMULATED_LABEL,
} from "./objects.ts";
