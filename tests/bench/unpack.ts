/**
 * Layer unpacking, standalone: the containers bench's fresh busybox layer (gzip, ≈1 MiB, 283
 * entries) unpacked again and again, in interleaved rounds, under `/tmp` (where the benches put
 * the node's data directory):
 *
 * - raw baseline: GNU `tar -xzf` of the same blob (a process of its own);
 * - `unpackLayer()` on this thread, into a directory made in a plain parent;
 * - `unpackLayer()` on this thread, into one made in a `FS_TOPDIR_FL` parent (the image store's
 *   `layers/`, node/images/top_dir.ts), at once and in 5 ms slices (the store's path for small
 *   layers);
 * - `unpackLayerInWorker()` with a cold Worker (the store's path for large layers);
 *
 * and for each, the longest this thread's event loop was kept from a 1 ms timer meanwhile.
 *
 * `deno run -A --config deno.json tests/bench/unpack.ts [rounds]` (default 11).
 * @module
 */
import zlib from "node:zlib";
import { busyboxRootfs } from "../fixtures/oci/images.ts";
import { writeTar } from "../../node/images/tar.ts";
import { markTopDir } from "../../node/images/top_dir.ts";
import { unpackLayer } from "../../node/images/unpack.ts";
import { unpackLayerInWorker } from "../../node/images/unpack_worker.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

const median = (xs: number[]) => percentile(xs, 50);

/** The longest gap between 1 ms timer ticks while `fn` runs (how long the event loop was held). */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; lagMs: number }> {
  let last = performance.now();
  let lag = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  try {
    await fn();
    return { ms: performance.now() - t0, lagMs: Math.max(lag, performance.now() - last) };
  } finally {
    clearInterval(tick);
  }
}

export async function benchUnpack(rounds = 11): Promise<BenchRow[]> {
  const layer = [...await busyboxRootfs(), { path: "etc/bench-id", data: crypto.randomUUID() }];
  const gz = new Uint8Array(zlib.gzipSync(writeTar(layer)));
  const base = await Deno.makeTempDir({ prefix: "skiff-bench-unpack-" });
  const blobPath = `${base}/layer.tar.gz`;
  await Deno.writeFile(blobPath, gz);
  const plain = `${base}/plain`, top = `${base}/top`;
  await Deno.mkdir(plain);
  await Deno.mkdir(top);
  const topSet = markTopDir(top);
  const stream = () => new Blob([gz]).stream();
  const series: Record<string, number[]> = {
    tar: [],
    tarTop: [],
    plain: [],
    top: [],
    sliced: [],
    worker: [],
  };
  const lag: Record<string, number[]> = { top: [], sliced: [], worker: [] };
  const runs = {
    plain: [plain, (d: string) => unpackLayer(stream(), d)],
    top: [top, (d: string) => unpackLayer(stream(), d)],
    sliced: [top, (d: string) => unpackLayer(stream(), d, { sliceMs: 5 })],
    worker: [top, (d: string) => unpackLayerInWorker(stream(), d)],
  } as const;
  try {
    for (let i = 0; i < rounds; i++) {
      for (const [key, parent] of [["tar", plain], ["tarTop", top]] as const) {
        const dest = `${parent}/${key}-${i}-${crypto.randomUUID()}`;
        await Deno.mkdir(dest);
        const r = await timed(() =>
          new Deno.Command("tar", { args: ["-xzf", blobPath, "-C", dest], stderr: "inherit" }).output()
        );
        series[key].push(r.ms);
      }
      for (const [key, [parent, run]] of Object.entries(runs)) {
        const dest = `${parent}/${key}-${i}-${crypto.randomUUID()}`;
        await Deno.mkdir(dest);
        const r = await timed(() => run(dest));
        series[key].push(r.ms);
        lag[key]?.push(r.lagMs);
      }
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
  const raw = { name: "`tar -xzf`, plain parent", value: median(series.tar), unit: "ms" };
  const row = (name: string, key: string): BenchRow => ({
    name: `${name} (median of ${rounds})`,
    value: median(series[key]),
    unit: "ms",
    baseline: raw,
    ratio: median(series[key]) / raw.value,
  });
  const stall = (name: string, key: string): BenchRow => ({
    name: `  longest event-loop stall of the calling thread meanwhile: ${name} (median)`,
    value: median(lag[key]),
    unit: "ms",
  });
  return [
    row(
      `\`tar -xzf\` of the ${
        (gz.length / 2 ** 20).toFixed(1)
      } MiB, ${layer.length}-entry layer, FS_TOPDIR_FL parent${topSet ? "" : " (flag refused: no effect)"}`,
      "tarTop",
    ),
    row("unpackLayer() on the calling thread, plain parent", "plain"),
    row("unpackLayer() on the calling thread, FS_TOPDIR_FL parent", "top"),
    stall("unpackLayer()", "top"),
    row(
      "unpackLayer({ sliceMs: 5 }) (the image store's path for layers < 4 MiB), FS_TOPDIR_FL parent",
      "sliced",
    ),
    stall("sliced", "sliced"),
    row("unpackLayerInWorker(), cold Worker (the path for layers ≥ 4 MiB), FS_TOPDIR_FL parent", "worker"),
    stall("Worker", "worker"),
  ];
}

if (import.meta.main) {
  const rows = await benchUnpack(Number(Deno.args[0] ?? 11));
  console.log(`load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
  console.log(table(rows));
}
