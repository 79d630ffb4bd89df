/**
 * The plugin host's side of the direct path (plugins/host/direct.ts): where each admission
 * plugin's runner listens, published to the API server (`POST /direct`), and why a direct call's
 * connection closed (`POST /direct/failure`), asked only on that failure path.
 *
 * The sockets live in a directory of the host's own (mode 0700, made by `Deno.makeTempDir` so the
 * paths stay within a unix socket's 108 bytes); each runner has a fresh 256-bit token, which a
 * caller must present first. Runners get `--allow-net=unix:<their socket>` and nothing more of
 * the network.
 * @module
 */
import type { FailureReason } from "../../control/api/plugins.ts";
import type { Runner } from "./runner_client.ts";

/** One plugin's endpoint as published: the socket, its token and the runner's id. */
export interface DirectEndpoint {
  path: string;
  token: string;
  runner: string;
}

/** What `POST /direct/failure` answers: the failure, or `retry` (send the call through the host). */
export type DirectFailureAnswer = { failure: { reason: FailureReason; message: string } } | { retry: true };

/** Runners remembered after they are replaced, for failure questions about them. */
const REMEMBERED = 64;

/** The direct endpoints of one plugin host. `await using` removes the socket directory. */
export class DirectEndpoints implements AsyncDisposable {
  #dir: Promise<string> | null = null;
  #next = 0;
  readonly #runners = new Map<string, Runner>();
  readonly #ids = new WeakMap<Runner, string>();

  /** A new runner's endpoint (its `RunnerConfig.direct`), with the id to {@linkcode add} it under. */
  async allocate(): Promise<{ id: string; path: string; token: string }> {
    const dir = await (this.#dir ??= Deno.makeTempDir({ prefix: "skiff-direct-" }));
    const id = `r${++this.#next}`;
    const token = Array.from(
      crypto.getRandomValues(new Uint8Array(32)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    return { id, path: `${dir}/${id}.sock`, token };
  }

  /** Remembers a started runner under its id. */
  add(id: string, runner: Runner): void {
    this.#runners.set(id, runner);
    this.#ids.set(runner, id);
    if (this.#runners.size > REMEMBERED) this.#runners.delete(this.#runners.keys().next().value!);
  }

  /** The endpoints of the runners serving now, by plugin name. */
  table(serving: Iterable<[string, Runner | null]>): { plugins: Record<string, DirectEndpoint> } {
    const plugins: Record<string, DirectEndpoint> = {};
    for (const [name, runner] of serving) {
      const d = runner?.direct;
      const id = runner && this.#ids.get(runner);
      if (d && id) plugins[name] = { path: d.path, token: d.token, runner: id };
    }
    return { plugins };
  }

  /** Why the direct call `key` on runner `id` got no answer. */
  async failure(id: unknown, key: unknown): Promise<DirectFailureAnswer> {
    const runner = typeof id === "string" ? this.#runners.get(id) : undefined;
    const f = runner && typeof key === "string" ? await runner.directFailure(key) : null;
    return f ? { failure: f } : { retry: true };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const dir = await this.#dir?.catch(() => null);
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
