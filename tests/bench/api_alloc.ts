/**
 * Bytes the JS heap allocates per API create and per watch event, against raw KV doing the same
 * writes (issue 2's tail-latency work). Young-generation scavenges, the pauses behind the API's
 * tail latencies, come at a rate set by these bytes; unlike timings, the figures hardly move
 * when the machine is busy. Measured with V8's sampling heap profiler (`node:inspector`),
 * counting objects the collector already freed, over a phase of its own after the timed ones.
 * @module
 */
import { Session } from "node:inspector/promises";
import type { BenchRow } from "./bench_row.ts";

/** Bytes allocated on the JS heap while `run` runs (sampled every 1 KiB on average). */
export async function allocatedBytes(run: () => Promise<unknown>): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await run();
    const { profile } = await session.post("HeapProfiler.stopSampling");
    let bytes = 0;
    const stack = [profile.head];
    while (stack.length) {
      const node = stack.pop()!;
      bytes += node.selfSize;
      stack.push(...node.children);
    }
    return bytes;
  } finally {
    session.disconnect();
  }
}

/** A row comparing bytes per operation with the raw baseline's. */
export function allocationRow(name: string, api: number, raw: number, rawName: string): BenchRow {
  return {
    name,
    value: api / 1024,
    unit: "KiB/op",
    baseline: { name: rawName, value: raw / 1024, unit: "KiB/op" },
    ratio: api / raw,
    target: "informational (lower is fewer GC pauses)",
  };
}
