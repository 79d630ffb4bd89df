/**
 * What the node-level benchmarks share: a real node agent started as its own process
 * (`cli/node.ts`) on a pod CIDR block no bridge of this machine uses, and a watch that tells when
 * each pod of a namespace turns Ready.
 * @module
 */
import { type Client, R } from "../../control/api/client.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { nextFreeBlock } from "../../control/controllers/nodeipam/mod.ts";
import { localSubnets } from "../../node/cni/ip.ts";
import { ROOT } from "../harness.ts";

/** The node's name in every benchmark. */
export const BENCH_NODE = "bench-node";

/**
 * More `deno run` flags for the bench node's process, from `SKIFF_BENCH_AGENT_FLAGS` (split on
 * spaces), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` for a V8 CPU profile of the agent
 * (tests/bench/cpu_profile.ts summarizes it). Empty by default.
 */
function agentFlags(): string[] {
  return (Deno.env.get("SKIFF_BENCH_AGENT_FLAGS") ?? "").split(" ").filter(Boolean);
}

/**
 * Starts `./skiff node` against `server` with a free /`mask` of 198.18.128.0/17 on `bridge`, no
 * Ingress and room for `maxPods`; its stderr goes to the benchmark's.
 */
export async function spawnBenchNode(
  opts: { server: string; dataDir: string; bridge: string; mask: number; maxPods: number },
): Promise<Deno.ChildProcess> {
  const podCIDR = nextFreeBlock("198.18.128.0/17", opts.mask, await localSubnets(opts.bridge));
  if (!podCIDR) throw new Error(`no free /${opts.mask} in 198.18.128.0/17 for the bench node`);
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...agentFlags(),
      "--config",
      `${ROOT}/deno.json`,
      `${ROOT}/cli/node.ts`,
      "--server",
      opts.server,
      "--name",
      BENCH_NODE,
      "--data-dir",
      opts.dataDir,
      "--port",
      "0",
      "--bridge",
      opts.bridge,
      "--pod-cidr",
      podCIDR,
      "--no-ingress",
      "--max-pods",
      String(opts.maxPods),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Waits until the bench node reports its runtime handlers (registered, network up); fails after `ms`. */
export async function benchNodeReady(client: Client, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await client.tryGet(R.nodes, "", BENCH_NODE))?.status?.runtimeHandlers) {
    if (Date.now() > end) throw new Error(`the bench node did not register within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function isReady(p: KubeObject): boolean {
  return (p.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    c.type === "Ready" && c.status === "True"
  );
}

/** Pods of a namespace turning Ready, from one watch. */
export class ReadyWatch {
  #waiters = new Map<string, (p: KubeObject) => void>();
  #ready = new Map<string, KubeObject>();
  #ac = new AbortController();
  #done: Promise<void>;

  constructor(client: Client, namespace: string) {
    this.#done = (async () => {
      try {
        for await (
          const ev of client.watch(R.pods, namespace, { signal: this.#ac.signal, timeoutSeconds: 3600 })
        ) {
          const p = ev.object;
          if (ev.type === "DELETED" || !isReady(p)) continue;
          const name = p.metadata.name!;
          if (this.#ready.has(name)) continue;
          this.#ready.set(name, p);
          this.#waiters.get(name)?.(p);
        }
      } catch (e) {
        if (!this.#ac.signal.aborted) throw e;
      }
    })();
  }

  /** Resolves with the pod once `name` is Ready; rejects after `ms`. */
  ready(name: string, ms = 120_000): Promise<KubeObject> {
    const p = this.#ready.get(name);
    if (p) return Promise.resolve(p);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pod ${name} was not Ready within ${ms} ms`)), ms);
      this.#waiters.set(name, (pod) => {
        clearTimeout(timer);
        resolve(pod);
      });
    });
  }

  /** How many pods have turned Ready. */
  get count(): number {
    return this.#ready.size;
  }

  /** Ends the watch (an open watch would keep the API server from shutting down). */
  async close() {
    this.#ac.abort();
    await this.#done;
  }
}
