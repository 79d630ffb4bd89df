/**
 * Where one write request's time goes on the API server, step by step: the client's call, the
 * server's filters, the store, the committer, the KV commit, the response, and the client's
 * object back. The steps are stamped by wrapping the methods that run them (the client's
 * transport, `RequestFilters.serve`, `Store.create`/`update`, `Committer.submit` and
 * `Deno.AtomicOperation.commit`) while {@linkcode Timeline} is open; the medians over many
 * sequential requests say what the path awaits.
 *
 * @example
 * ```ts
 * using timeline = new Timeline();
 * for (let i = 0; i < 500; i++) await timeline.run("POST", () => client.create(R.pods, pod(i)));
 * console.log(timeline.medians("POST"));
 * ```
 * @module
 */
import { RequestFilters } from "../../control/apiserver/auth/filters.ts";
import { Committer } from "../../control/store/committer.ts";
import { Store } from "../../control/store/store.ts";
import { percentile } from "./bench_row.ts";

/** Stamps the steps of sequential write requests; restores every wrapped method on dispose. */
export class Timeline implements Disposable {
  #marks: [string, number][] = [];
  #runs = new Map<string, Map<string, number[]>>();
  #restore: (() => void)[] = [];

  constructor() {
    const mark = (step: string) => this.#marks.push([step, performance.now()]);
    // deno-lint-ignore no-explicit-any
    const wrap = (proto: any, name: string, before: string, after: string) => {
      const orig = proto[name];
      proto[name] = async function (this: unknown, ...args: unknown[]) {
        mark(before);
        const out = await orig.apply(this, args);
        mark(after);
        return out;
      };
      this.#restore.push(() => proto[name] = orig);
    };
    wrap(RequestFilters.prototype, "serve", "server: request in the filters", "server: response made");
    wrap(Store.prototype, "create", "store: create() called", "store: create() returns");
    wrap(Store.prototype, "update", "store: update() called", "store: update() returns");
    wrap(Committer.prototype, "submit", "committer: write submitted", "committer: outcome back");
    wrap(Deno.AtomicOperation.prototype, "commit", "KV: commit() called", "KV: commit() resolved");
  }

  /** Runs one request under the stamps, filed under `label`. */
  async run(label: string, request: () => Promise<unknown>): Promise<void> {
    this.#marks = [["client: request sent", performance.now()]];
    await request();
    this.#marks.push(["client: object back", performance.now()]);
    const t0 = this.#marks[0][1];
    let steps = this.#runs.get(label);
    if (!steps) this.#runs.set(label, steps = new Map());
    for (const [step, at] of this.#marks) {
      if (!steps.has(step)) steps.set(step, []);
      steps.get(step)!.push(at - t0);
    }
  }

  /** Median ms after the client's call at which each step was reached, in the order reached. */
  medians(label: string): [string, number][] {
    return [...this.#runs.get(label) ?? []].map(([step, at]) => [step, percentile(at, 50)] as [string, number])
      .sort((a, b) => a[1] - b[1]);
  }

  [Symbol.dispose](): void {
    for (const r of this.#restore.reverse()) r();
  }
}
