/**
 * The controller manager (upstream `kube-controller-manager`): every controller in one process,
 * sharing one InformerFactory, behind one leader election on the Lease
 * `kube-system/kube-controller-manager`. Each term of leadership builds fresh informers and
 * controllers; losing the lease stops them (their signal aborts) and the manager campaigns again.
 *
 * @example
 * ```ts
 * const manager = startControllerManager({ client, signal, identity: "cm-1" });
 * await manager.done; // after `signal` aborts and everything has stopped
 * ```
 * @module
 */
import type { Client } from "../api/client.ts";
import { type EventRecorder, eventRecorder } from "../api/events.ts";
import { InformerFactory } from "../api/informer.ts";
import { defaultIdentity, LeaderElector } from "../api/leader.ts";
import type { Controller, ControllerContext, ControllerOptions } from "./controller.ts";
import { endpointsController } from "./endpoints/endpoints_controller.ts";
import {
  endpointSliceController,
  type EndpointSliceOptions,
} from "./endpointslice/endpointslice_controller.ts";
import { garbageCollector, type GarbageCollectorOptions } from "./garbagecollector/garbage_collector.ts";
import { namespaceController, type NamespaceControllerOptions } from "./namespace/namespace_controller.ts";
import { nodeLifecycleController, type NodeLifecycleOptions } from "./nodelifecycle/node_lifecycle.ts";
import { taintEvictionController } from "./nodelifecycle/taint_eviction.ts";
import { podGCController, type PodGCOptions } from "./podgc/podgc_controller.ts";
import { serviceAccountController } from "./serviceaccount/serviceaccount_controller.ts";

/** Everything the manager can be tuned with (upstream's kube-controller-manager flags). */
export interface ControllerManagerOptions extends ControllerOptions {
  /**
   * Which controllers run, as `--controllers`: `*` is every controller on by default, `name`
   * enables one, `-name` disables one. Default `["*"]`.
   */
  controllers?: string[];
  /** Run behind leader election (default true). */
  leaderElect?: boolean;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** The Lease (default `kube-system/kube-controller-manager`). */
  leaseNamespace?: string;
  leaseName?: string;
  garbageCollector?: GarbageCollectorOptions;
  namespace?: NamespaceControllerOptions;
  nodeLifecycle?: NodeLifecycleOptions;
  podGC?: PodGCOptions;
  endpointSlice?: EndpointSliceOptions;
  now?: () => number;
}

/** A factory the manager runs. */
export type ControllerFactory = (ctx: ControllerContext, opts: ControllerManagerOptions) => Controller;

/** One entry of the controller table: a name (as upstream's `--controllers`) and how to make it. */
export interface ControllerEntry {
  name: string;
  /** Makes the controller; async so modules can be loaded on demand. */
  load(): Promise<ControllerFactory>;
}

const builtin = (name: string, factory: ControllerFactory): ControllerEntry => ({
  name,
  load: () => Promise.resolve(factory),
});

/** A controller folder's `mod.ts`, loaded on demand; its default export is `(ctx) => Controller`. */
const module = (
  name: string,
  load: () => Promise<{ default: (ctx: ControllerContext) => Controller }>,
): ControllerEntry => ({
  name,
  async load() {
    const create = (await load()).default;
    return (ctx) => create(ctx);
  },
});

/** Every controller, in start order. */
export const CONTROLLERS: readonly ControllerEntry[] = [
  builtin("garbage-collector-controller", (ctx, o) => garbageCollector(ctx, o.garbageCollector)),
  builtin("namespace-controller", (ctx, o) => namespaceController(ctx, o.namespace)),
  builtin("serviceaccount-controller", (ctx) => serviceAccountController(ctx)),
  builtin("node-lifecycle-controller", (ctx, o) => nodeLifecycleController(ctx, o.nodeLifecycle)),
  module("node-ipam-controller", () => import("./nodeipam/mod.ts")),
  builtin("taint-eviction-controller", (ctx) => taintEvictionController(ctx)),
  builtin("pod-garbage-collector-controller", (ctx, o) => podGCController(ctx, o.podGC)),
  builtin("endpoints-controller", (ctx) => endpointsController(ctx)),
  builtin("endpointslice-controller", (ctx, o) => endpointSliceController(ctx, o.endpointSlice)),
  module("replicaset-controller", () => import("./replicaset/mod.ts")),
  module("deployment-controller", () => import("./deployment/mod.ts")),
  module("daemonset-controller", () => import("./daemonset/mod.ts")),
  module("statefulset-controller", () => import("./statefulset/mod.ts")),
  module("job-controller", () => import("./job/mod.ts")),
  module("cronjob-controller", () => import("./cronjob/mod.ts")),
  module("ttl-after-finished-controller", () => import("./job/ttl_mod.ts")),
  module("clusterrole-aggregation-controller", () => import("./clusterroleaggregation/mod.ts")),
  module("disruption-controller", () => import("./disruption/mod.ts")),
  ...["persistentvolume-binder-controller", "pvc-protection-controller", "pv-protection-controller"].map(
    (name): ControllerEntry => ({
      name,
      async load() {
        const m = await import("./volume/mod.ts");
        const make = name === "persistentvolume-binder-controller"
          ? m.persistentVolumeBinder
          : name === "pvc-protection-controller"
          ? m.pvcProtectionController
          : m.pvProtectionController;
        return (ctx) => make(ctx);
      },
    }),
  ),
  {
    name: "resourcequota-controller",
    async load() {
      const { default: create } = await import("./resourcequota/mod.ts");
      type Options = { resourceQuota?: import("./resourcequota/mod.ts").ResourceQuotaControllerOptions };
      return (ctx, o) => create(ctx, (o as Options).resourceQuota);
    },
  },
  {
    name: "root-ca-certificate-publisher-controller",
    async load() {
      const { default: create } = await import("./rootcacert/mod.ts");
      type Options = { rootCA?: import("./rootcacert/mod.ts").RootCACertOptions };
      return (ctx, o) => create(ctx, (o as Options).rootCA);
    },
  },
];

/** The names `--controllers` enables (upstream `IsControllerEnabled`). Pure. */
export function enabledControllers(all: readonly string[], selection: readonly string[] = ["*"]): string[] {
  return all.filter((name) => {
    if (selection.includes(`-${name}`)) return false;
    if (selection.includes(name)) return true;
    return selection.includes("*");
  });
}

/**
 * The names in a `--controllers` selection that name no controller (upstream refuses them: "is
 * not in the list of known controllers"). Pure.
 */
export function unknownControllers(all: readonly string[], selection: readonly string[] = ["*"]): string[] {
  return selection
    .filter((s) => s !== "*")
    .map((s) => s.replace(/^-/, ""))
    .filter((name) => !all.includes(name));
}

export interface StartControllerManagerOptions {
  client: Client;
  /** Stops the manager (the lease is released). */
  signal: AbortSignal;
  /** This replica's identity in the Lease (default `hostname_uuid`). */
  identity?: string;
  options?: ControllerManagerOptions;
  /** The controller table (default {@linkcode CONTROLLERS}). */
  controllers?: readonly ControllerEntry[];
}

export interface ControllerManager {
  /** Resolves once the manager has stopped (after `signal` aborted). */
  done: Promise<void>;
  /** Whether this replica currently leads. */
  readonly leading: boolean;
  /** Resolves when this replica first leads with every informer synced (its controllers are running). */
  ready: Promise<void>;
  /** The controllers that could not be loaded (e.g. a module missing from this build). */
  readonly unavailable: string[];
  identity: string;
}

const aborted = (signal: AbortSignal) =>
  new Promise<void>((r) =>
    signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })
  );

/** Starts the controller manager; it runs until `signal` aborts. */
export function startControllerManager(opts: StartControllerManagerOptions): ControllerManager {
  const { client, signal } = opts;
  const options = opts.options ?? {};
  const identity = opts.identity ?? defaultIdentity();
  const table = opts.controllers ?? CONTROLLERS;
  const unavailable: string[] = [];
  let leading = false;
  const ready = Promise.withResolvers<void>();

  const load = async (): Promise<[string, ControllerFactory][]> => {
    const names = enabledControllers(table.map((e) => e.name), options.controllers);
    const out: [string, ControllerFactory][] = [];
    for (const entry of table.filter((e) => names.includes(e.name))) {
      try {
        out.push([entry.name, await entry.load()]);
      } catch (e) {
        unavailable.push(entry.name);
        console.error(
          `controller-manager: ${entry.name} is not available: ${(e as Error).message.split("\n")[0]}`,
        );
      }
    }
    return out;
  };

  /** One term: fresh informers and controllers, run until `term` aborts. */
  const runControllers = async (factories: [string, ControllerFactory][], term: AbortSignal) => {
    leading = true;
    const informers = new InformerFactory(client);
    const recorders: EventRecorder[] = [];
    const ctx: ControllerContext = {
      client,
      informers,
      recorder(component) {
        const r = eventRecorder(client, component, { now: options.now });
        recorders.push(r);
        return r;
      },
      now: options.now ?? Date.now,
      options,
    };
    const controllers: Controller[] = [];
    for (const [name, factory] of factories) {
      try {
        controllers.push(factory(ctx, options));
      } catch (e) {
        console.error(`controller-manager: starting ${name} failed: ${(e as Error).message}`);
      }
    }
    try {
      await Promise.race([informers.start(), aborted(term)]);
      if (term.aborted) return;
      ready.resolve();
      await Promise.all(
        controllers.map((c) =>
          c.run(term).catch((e) =>
            console.error(`controller-manager: ${c.name} stopped: ${(e as Error)?.message ?? e}`)
          )
        ),
      );
    } finally {
      leading = false;
      await informers.stop();
      await Promise.all(recorders.map((r) => r.flush()));
    }
  };

  const done = (async () => {
    const factories = await load();
    if (options.leaderElect === false) return await runControllers(factories, signal);
    const elector = new LeaderElector(client, {
      namespace: options.leaseNamespace ?? "kube-system",
      name: options.leaseName ?? "kube-controller-manager",
      identity,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      onNewLeader: (who) =>
        console.error(
          `controller-manager: new leader elected: ${who}${who === identity ? " (this replica)" : ""}`,
        ),
    });
    while (!signal.aborted) {
      try {
        await elector.run(signal, (term) => runControllers(factories, term));
      } catch (e) {
        console.error(`controller-manager: ${(e as Error)?.message ?? e}`);
      }
      if (!signal.aborted) console.error("controller-manager: leaderelection lost; campaigning again");
    }
  })();

  return {
    done,
    ready: ready.promise,
    get leading() {
      return leading;
    },
    get unavailable() {
      return unavailable;
    },
    identity,
  };
}
