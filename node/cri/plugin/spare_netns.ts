/**
 * One network namespace made ahead of time for the next pod sandbox, so that `ip netns add` (a
 * process: about 8 ms on an idle machine, 20–40 ms under load) is off the sandbox's path. The
 * spare is named `<prefix>_n-<random>`; whoever takes it makes the next one when it chooses
 * (`refill`, at a moment the node is idle); a take that finds none makes its own namespace.
 *
 * @example
 * ```ts ignore
 * const spare = await SpareNetns.open(prefix, usedNames);
 * const { name, made } = spare.take(`${prefix}_${key}`); // the spare, or a new namespace of that name
 * await made;
 * spare.refill();
 * await spare.close(); // deletes an unused spare
 * ```
 * @module
 */
import { createNetns, deleteNetns, listNetns } from "../../cni/netns.ts";

export class SpareNetns {
  readonly #prefix: string;
  #spare?: Promise<string | undefined>;
  /** The spare's name once it exists. */
  #made?: string;
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
    const spare = this.#spare = createNetns(name).then(() => {
      if (this.#spare === spare) this.#made = name;
      return name;
    }, () => undefined);
  }

  /**
   * The name of the sandbox's network namespace, known at once so that the sandbox can be
   * recorded while it is made: the spare when it exists (it is the caller's now), else `fallback`,
   * made as a new namespace (`made`; a spare still being made stays for the next sandbox).
   */
  take(fallback: string): { name: string; made: Promise<void> } {
    const name = this.#made;
    if (name) {
      this.#spare = this.#made = undefined;
      return { name, made: Promise.resolve() };
    }
    return { name: fallback, made: createNetns(fallback).then(() => {}) };
  }

  /** Makes no more spares and deletes the one not taken. */
  async close(): Promise<void> {
    this.#closed = true;
    const name = await this.#spare;
    this.#spare = this.#made = undefined;
    if (name) await deleteNetns(name).catch(() => {});
  }
}
