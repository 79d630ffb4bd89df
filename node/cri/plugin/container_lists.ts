/**
 * What the runtime Plugin last answered about each sandbox's containers, kept until a verb that
 * may change them goes through the node (node/cri/plugin/runtime_host.ts), so that the
 * kubelet's status reads after a pod's start, and the sync its own status write brings, cost no
 * plugin call. It holds because a runtime Plugin's records change only inside its verbs, and the
 * node makes every call: each verb that may change a sandbox's containers drops that sandbox's
 * list when it begins; a list answered while such a verb ran is not kept; the status a
 * `skiff:runtime@0.2.0` `create-container` or `start-container` answered replaces its
 * container's entry when nothing else changed the sandbox meanwhile. A list is used for
 * `maxAgeMs` at most (10 s) after the Plugin answered it: the kubelet's reads around a start
 * are within milliseconds, and a Plugin replaced by a new version (same records, perhaps other
 * answers) is asked again soon. Pure (no I/O; the clock is injected).
 *
 * ```ts ignore
 * const lists = new ContainerLists();
 * lists.seed("sb1"); // a new sandbox: no containers yet
 * const t = lists.begin(changedSandbox("startContainer", ["c1"], (c) => lists.sandboxOf(c)));
 * lists.end(t, answeredStatus); // "sb1" now lists c1 as running, with no call
 * ```
 * @module
 */
import type { WitContainerStatus } from "../../../plugins/runtime/binding.ts";

/** Verbs that change nothing of any container (and image verbs, which are not about them). */
const READS = new Set([
  "getPodSandboxStatus",
  "listPodSandbox",
  "getContainerStatus",
  "listContainers",
  "execSync",
  "runPodSandbox", // a new sandbox, or the same one's IP: CRI's RunPodSandbox touches no container
  "pullImage",
  "listImages",
  "getImageStatus",
  "removeImage",
]);

/** Verbs whose first argument is a container id. */
const BY_CONTAINER = new Set(["startContainer", "stopContainer", "containerExited", "removeContainer"]);

/** Verbs whose first argument is a sandbox id. */
const BY_SANDBOX = new Set(["createContainer", "stopPodSandbox", "removePodSandbox"]);

/**
 * The sandbox whose containers `op` may change: its id; `undefined` when it may change any
 * (an unknown verb or container, `configure`); `null` when it changes none. Pure.
 */
export function changedSandbox(
  op: string,
  args: unknown[],
  sandboxOf: (containerId: string) => string | undefined,
): string | undefined | null {
  if (READS.has(op)) return null;
  if (BY_SANDBOX.has(op) && typeof args[0] === "string") return args[0];
  if (BY_CONTAINER.has(op) && typeof args[0] === "string") return sandboxOf(args[0]);
  return undefined;
}

/** A change begun with {@linkcode ContainerLists.begin}. */
export interface Change {
  sandbox?: string;
  /** The sandbox's list when the change began (updated with the answered status at its end). */
  before?: Map<string, WitContainerStatus>;
  gen: number;
  epoch: number;
}

/** Where a read stood when it was sent (its answer is kept only if nothing changed since). */
export interface ReadMark {
  gen: number;
  epoch: number;
}

/** Whether `v` is a container status as a 0.2.0 verb answers it. */
export function isContainerStatus(v: unknown): v is WitContainerStatus {
  return !!v && typeof v === "object" && typeof (v as WitContainerStatus).id === "string" &&
    typeof (v as WitContainerStatus).state === "string";
}

/** The kept lists; see the module's description. */
export class ContainerLists {
  /** Per sandbox: its containers by id, and when the Plugin answered them (the clock's ms). */
  readonly #lists = new Map<string, { at: number; containers: Map<string, WitContainerStatus> }>();
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #sandboxOf = new Map<string, string>();
  /** Per sandbox: bumped when a change begins and when it ends. */
  readonly #gens = new Map<string, number>();
  /** Bumped when a change of any sandbox begins and ends. */
  #epoch = 0;

  constructor(opts: { maxAgeMs?: number; now?: () => number } = {}) {
    this.#maxAgeMs = opts.maxAgeMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** The sandbox's kept containers, unless too old (then dropped). */
  #fresh(sandbox: string): Map<string, WitContainerStatus> | undefined {
    const l = this.#lists.get(sandbox);
    if (!l) return undefined;
    if (this.#now() - l.at > this.#maxAgeMs) {
      this.#lists.delete(sandbox);
      return undefined;
    }
    return l.containers;
  }

  #bump(sandbox: string): number {
    const g = (this.#gens.get(sandbox) ?? 0) + 1;
    this.#gens.set(sandbox, g);
    return g;
  }

  /** The sandbox of a container the node has seen (created, listed). */
  sandboxOf(containerId: string): string | undefined {
    return this.#sandboxOf.get(containerId);
  }

  /** Remembers that `containerId` is in `sandbox`. */
  learn(containerId: string, sandbox: string): void {
    this.#sandboxOf.set(containerId, sandbox);
  }

  /** A sandbox the Plugin has just made: it has no containers. */
  seed(sandbox: string): void {
    if (!this.#lists.has(sandbox)) this.#lists.set(sandbox, { at: this.#now(), containers: new Map() });
  }

  /** A change of `sandbox`'s containers (`undefined`: of any sandbox's) begins. */
  begin(sandbox: string | undefined): Change {
    if (sandbox === undefined) {
      this.#epoch++;
      this.#lists.clear();
      return { gen: 0, epoch: this.#epoch };
    }
    const before = this.#fresh(sandbox);
    this.#lists.delete(sandbox);
    return { sandbox, before, gen: this.#bump(sandbox), epoch: this.#epoch };
  }

  /**
   * The change ended; `answered`: the container's status as the verb answered it (0.2.0), which
   * replaces its entry when the list was kept before and nothing else changed the sandbox since.
   */
  end(change: Change, answered?: WitContainerStatus): void {
    if (change.sandbox === undefined) {
      this.#epoch++;
      return;
    }
    const gen = this.#bump(change.sandbox);
    if (!answered || !change.before || gen !== change.gen + 1 || change.epoch !== this.#epoch) return;
    if (answered.podSandboxId !== change.sandbox) return;
    const next = new Map(change.before);
    next.set(answered.id, answered);
    this.#lists.set(change.sandbox, { at: this.#now(), containers: next });
    this.#sandboxOf.set(answered.id, change.sandbox);
  }

  /** The kept list of `sandbox`'s containers, if any. */
  list(sandbox: string): WitContainerStatus[] | undefined {
    const l = this.#fresh(sandbox);
    return l ? [...l.values()] : undefined;
  }

  /** The kept status of a container, if its sandbox's list is kept. */
  container(containerId: string): WitContainerStatus | undefined {
    const sandbox = this.#sandboxOf.get(containerId);
    return sandbox === undefined ? undefined : this.#fresh(sandbox)?.get(containerId);
  }

  /** Marks a read of `sandbox`'s list as it is sent. */
  reading(sandbox: string): ReadMark {
    return { gen: this.#gens.get(sandbox) ?? 0, epoch: this.#epoch };
  }

  /** The Plugin's list of `sandbox`: kept when nothing changed since `mark`. */
  answered(sandbox: string, mark: ReadMark, list: WitContainerStatus[]): void {
    for (const c of list) this.#sandboxOf.set(c.id, c.podSandboxId);
    if (mark.epoch !== this.#epoch || mark.gen !== (this.#gens.get(sandbox) ?? 0)) return;
    const containers = new Map(list.filter((c) => c.podSandboxId === sandbox).map((c) => [c.id, c]));
    this.#lists.set(sandbox, { at: this.#now(), containers });
  }

  /** Forgets a removed sandbox and its containers. */
  forget(sandbox: string): void {
    this.#epoch++; // a read of it in flight is not kept
    this.#lists.delete(sandbox);
    this.#gens.delete(sandbox);
    for (const [c, s] of this.#sandboxOf) if (s === sandbox) this.#sandboxOf.delete(c);
  }
}
