/**
 * A counting semaphore: at most `size` holders at once, the others wait in order.
 *
 * @example
 * ```ts
 * const starts = new Semaphore(2);
 * await starts.use(() => startOne());
 * ```
 * @module
 */

export class Semaphore {
  readonly size: number;
  #held = 0;
  #queue: (() => void)[] = [];

  constructor(size: number) {
    this.size = Math.max(1, size);
  }

  async acquire(): Promise<void> {
    if (this.#held < this.size) {
      this.#held++;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  release(): void {
    const next = this.#queue.shift();
    if (next) next(); // the slot passes on
    else this.#held--;
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
