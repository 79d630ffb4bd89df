/**
 * One network namespace made ahead of time for the next pod sandbox, so that `ip netns add` (a
 * process: about 8 ms on an idle machine, 20–40 ms under load) is off the sandbox's path. The
 * spare is named `<prefix>_n-<random>`; whoever takes it makes the next one when it chooses
 * (`refill`, at a moment the node is idle); a take that finds none makes its own namespace.
 *
 * @example
 * ```ts ignore
 * const spare = await SpareNetns.open(prefix, usedNames);
 * const name = await spare.take(`${prefix}_${key}`); // the spare, or a new namespace of that name
 * spare.refill();
 * await spare.close(); // deletes an unused spare
 * ```
 * @module
 */
import { createNetns, deleteNetns, listNetns } from "../../cni/netns.ts";

export class SpareNetns {
  readonly #prefix: string;
  #spare?: Promise<string | undefined>;
  #closed = false;

  private constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /**
   * Deletes the spares a previous agent left (it stopped without closing) that no sandbox uses,
   * and starts making one.
   */
  static async open(prefix: string, used: ReadonlySet<string>): Promise<SpareNetns> {
    const s = new SpareNetns(prefix);
    for (const name of listNetns(`${prefix}_n-`)) if (!used.has(name)) await deleteNetns(name);
    s.refill();
    return s;
  }

  /** Starts making the spare, unless there is one (or one is being made). */
  refill(): void {
    if (this.#spare || this.#closed) return;
    const name = `${this.#prefix}_n-${crypto.randomUUID().slice(0, 8)}`;
    this.#spare = createNetns(name).then(() => name, () => undefined);
  }

  /** The spare's name (it is the caller's now), or `fallback` made as a new namespace. */
  async take(fallback: string): Promise<string> {
    const spare = this.#spare;
    this.#spare = undefined;
    const name = await spare;
    if (name) return name;
    await createNetns(fallback);
    return fallback;
  }

  /** Makes no more spares and deletes the one not taken. */
  async close(): Promise<void> {
    this.#closed = true;
    const name = await this.#spare;
    this.#spare = undefined;
    if (name) await deleteNetns(name).catch(() => {});
  }
}
