/**
 * A binary heap of keyed items with O(log n) push, pop, update and delete by key (upstream's
 * `internal/heap`), used by the scheduling queue's active and backoff queues.
 * @module
 */

export class KeyedHeap<T> {
  readonly #items: T[] = [];
  readonly #pos = new Map<string, number>();
  readonly #key: (t: T) => string;
  readonly #less: (a: T, b: T) => boolean;

  /** `less(a, b)`: whether `a` comes out before `b`. */
  constructor(key: (t: T) => string, less: (a: T, b: T) => boolean) {
    this.#key = key;
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  has(key: string): boolean {
    return this.#pos.has(key);
  }

  get(key: string): T | undefined {
    const i = this.#pos.get(key);
    return i === undefined ? undefined : this.#items[i];
  }

  /** Adds the item, or replaces the item with the same key and restores the order. */
  push(item: T): void {
    const k = this.#key(item);
    const i = this.#pos.get(k);
    if (i !== undefined) {
      this.#items[i] = item;
      this.#fix(i);
      return;
    }
    this.#items.push(item);
    this.#pos.set(k, this.#items.length - 1);
    this.#up(this.#items.length - 1);
  }

  /** The first item without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  pop(): T | undefined {
    if (this.#items.length === 0) return undefined;
    return this.#removeAt(0);
  }

  delete(key: string): T | undefined {
    const i = this.#pos.get(key);
    return i === undefined ? undefined : this.#removeAt(i);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  #removeAt(i: number): T {
    const items = this.#items;
    const out = items[i];
    const last = items.pop()!;
    this.#pos.delete(this.#key(out));
    if (i < items.length) {
      items[i] = last;
      this.#pos.set(this.#key(last), i);
      this.#fix(i);
    }
    return out;
  }

  #fix(i: number): void {
    if (!this.#up(i)) this.#down(i);
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    [items[i], items[j]] = [items[j], items[i]];
    this.#pos.set(this.#key(items[i]), i);
    this.#pos.set(this.#key(items[j]), j);
  }

  #up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#items[i], this.#items[parent])) break;
      this.#swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  #down(i: number): void {
    const n = this.#items.length;
    while (true) {
      const l = 2 * i + 1;
      if (l >= n) return;
      let c = l;
      if (l + 1 < n && this.#less(this.#items[l + 1], this.#items[l])) c = l + 1;
      if (!this.#less(this.#items[c], this.#items[i])) return;
      this.#swap(i, c);
      i = c;
    }
  }
}
