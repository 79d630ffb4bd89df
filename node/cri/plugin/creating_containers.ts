/**
 * The containers whose `crun create` (run by conmon) is still under way, shared by the node's two
 * halves of a runtime plugin. The RuntimeHost answers CRI CreateContainer once the plugin has
 * started conmon and registers the wait for conmon's sync message here; what the plugin then does
 * with that container through the node waits for it: `node-images.write-exec-fifo` (its start)
 * and any `host-process` run whose arguments name it (`crun start`, `kill`, `delete`, `exec`).
 * So the kubelet's StartContainer travels to the plugin while crun is still creating the
 * container, as containerd's CreateContainer, which runs no runc (its StartContainer creates the
 * task and starts it). A create that failed keeps its error until the container is removed: the
 * start reports it (RunContainerError, as containerd's `StartError`).
 *
 * @example
 * ```ts ignore
 * const creating = new CreatingContainers();
 * creating.add(id, waitForConmonSync(id));
 * await creating.created(id); // rejects with why crun could not create it
 * creating.forget(id); // removed
 * ```
 * @module
 */
export class CreatingContainers {
  readonly #pending = new Map<string, Promise<void>>();
  readonly #needs = new Set<Promise<void>>();

  /**
   * What a create the plugin is making needs before crun may create the container: its
   * sandbox's namespaces and files, still being made when the plugin's create is asked for.
   * The runs that create a container (conmon, `crun create|run`) wait for it; the returned
   * function releases it once the plugin's create has answered. A run cannot tell which create
   * it belongs to, so it waits for the needs of every create being made: with several pods
   * starting at once, a few milliseconds at most (namespaces and files of each).
   */
  need(ready: Promise<void>): () => void {
    this.#needs.add(ready);
    return () => this.#needs.delete(ready);
  }

  /**
   * Resolves once what the creates being made need is made, or failed: a failure is its own
   * create's error (RuntimeHost.createContainer), never another pod's.
   */
  async needed(): Promise<void> {
    if (this.#needs.size) await Promise.allSettled(this.#needs);
  }

  /** `id`'s create, until it succeeds (a failure is kept until {@linkcode forget}). */
  add(id: string, created: Promise<void>): void {
    this.#pending.set(id, created);
    created.then(() => {
      if (this.#pending.get(id) === created) this.#pending.delete(id);
    }, () => {});
  }

  /** Whether `id` is being created or failed to be. */
  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Resolves once `id` is created (at once for a container not being created); rejects with why not. */
  created(id: string): Promise<void> {
    return this.#pending.get(id) ?? Promise.resolve();
  }

  /** Resolves once `id`'s create is over, however it ended. */
  settled(id: string): Promise<void> {
    return this.created(id).catch(() => {});
  }

  /** The container is gone: its failure is no longer kept. */
  forget(id: string): void {
    this.#pending.delete(id);
  }
}
