/**
 * The benchmark suite (`./skiff bench`, `deno task bench`): every figure is measured in this run,
 * next to the raw baseline it is a ratio to. Prints a Markdown table (paste it into
 * docs/benchmarks.md) and the machine it ran on.
 *
 * `./skiff bench api` runs one group; without arguments, all groups run.
 * @module
 */
import { benchApi } from "./api.ts";
import { benchAuth } from "./auth.ts";
import { benchCni } from "./cni.ts";
import { benchContainers } from "./containers.ts";
import { benchRbac } from "../../control/apiserver/rbac/bench.ts";
import { benchMemory } from "./memory.ts";
import { benchNetwork } from "./network.ts";
import { benchNode } from "./node.ts";
import { benchPlugins } from "./plugins.ts";
import { benchReconcile } from "./reconcile.ts";
import { benchScheduler } from "./scheduler.ts";
import { benchStorage } from "./storage.ts";
import { benchWasm } from "./wasm.ts";
import { type BenchRow, table } from "./bench_row.ts";

const GROUPS: Record<string, () => Promise<BenchRow[]>> = {
  api: benchApi,
  auth: benchAuth,
  cni: benchCni,
  containers: benchContainers,
  rbac: benchRbac,
  memory: benchMemory,
  network: benchNetwork,
  node: benchNode,
  plugins: benchPlugins,
  reconcile: benchReconcile,
  scheduler: benchScheduler,
  storage: benchStorage,
  wasm: benchWasm,
};

async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.+)/)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const memGiB = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  return `${cores} cores (${cpu}), ${memGiB} GiB, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}, load ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  }`;
}

const wanted = Deno.args.length ? Deno.args : Object.keys(GROUPS);
const unknown = wanted.filter((g) => !GROUPS[g]);
if (unknown.length) {
  console.error(
    `unknown benchmark group(s): ${unknown.join(", ")}; known: ${Object.keys(GROUPS).join(", ")}`,
  );
  Deno.exit(2);
}
console.log(`machine: ${await machine()}\n`);
const rows: BenchRow[] = [];
for (const g of wanted) {
  console.error(`running ${g} benchmarks...`);
  rows.push(...await GROUPS[g]());
}
console.log(table(rows));
