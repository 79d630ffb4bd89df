/**
 * A directory of JSON records kept in memory and written through on every change (write to a
 * temporary file, then rename), so the runtime's view of sandboxes and containers survives an
 * agent restart.
 * @module
 */

export class RecordStore<T extends { id: string }> {
  readonly dir: string;
  readonly #items = new Map<string, T>();
  readonly #writes = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens `dir` (created when missing) and loads every record. */
  static async open<T extends { id: string }>(dir: string): Promise<RecordStore<T>> {
    await Deno.mkdir(dir, { recursive: true });
    const store = new RecordStore<T>(dir);
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      try {
        const item = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)) as T;
        store.#items.set(item.id, item);
      } catch {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {}); // torn write of a crash
      }
    }
    return store;
  }

  get(id: string): T | undefined {
    return this.#items.get(id);
  }

  values(): T[] {
    return [...this.#items.values()];
  }

  /** Stores `item`: in memory at once, on disk before resolving (writes of one ID are ordered). */
  async put(item: T): Promise<void> {
    this.#items.set(item.id, item);
    await this.#flush(item.id);
  }

  async delete(id: string): Promise<void> {
    this.#items.delete(id);
    await this.#flush(id);
  }

  /** Writes what memory holds for `id` now (or removes its file), after the writes before it. */
  #flush(id: string): Promise<void> {
    const prev = this.#writes.get(id) ?? Promise.resolve();
    const next = prev.then(async () => {
      const path = `${this.dir}/${id}.json`;
      const item = this.#items.get(id);
      if (!item) {
        await Deno.remove(path).catch(() => {});
        return;
      }
      await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(item));
      await Deno.rename(`${path}.tmp`, path);
    });
    const settled = next.catch(() => {});
    this.#writes.set(id, settled);
    settled.then(() => {
      if (this.#writes.get(id) === settled) this.#writes.delete(id);
    });
    return next;
  }
}
