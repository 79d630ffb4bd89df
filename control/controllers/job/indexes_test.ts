import assert from "node:assert/strict";
import { pod } from "../workload/testing.ts";
import {
  duplicatedIndexPods,
  firstPendingIndexes,
  formatIndexes,
  generateNameWithIndex,
  parseIndexes,
  totalIndexes,
  withCompletionIndexEnv,
  withIndexes,
} from "./indexes.ts";

const indexed = (name: string, ix: number, o = {}) =>
  pod(name, { ...o, annotations: { "batch.kubernetes.io/job-completion-index": String(ix) } });

Deno.test("completed indexes round-trip as upstream's interval string", () => {
  const iv = parseIndexes("0,2-4,9", 8);
  assert.equal(formatIndexes(iv), "0,2-4");
  assert.equal(formatIndexes(withIndexes(iv, [1, 5])), "0-5");
  assert.equal(totalIndexes(withIndexes(iv, [7])), 5);
});

Deno.test("firstPendingIndexes() skips succeeded and active indexes", () => {
  assert.deepEqual(firstPendingIndexes([indexed("a", 1)], parseIndexes("0,3", 6), 3, 6), [2, 4, 5]);
});

Deno.test("duplicatedIndexPods() keeps one pod per index and drops out-of-range ones", () => {
  const { remove, keep } = duplicatedIndexPods([
    indexed("a", 0),
    indexed("b", 0, { readySince: 1 }),
    indexed("c", 9),
    pod("d"),
  ], 3);
  assert.deepEqual(remove.map((p) => p.metadata.name).sort(), ["a", "c", "d"]);
  assert.deepEqual(keep.map((p) => p.metadata.name), ["b"]);
});

Deno.test("indexed pods get a <job>-<index>- name prefix and JOB_COMPLETION_INDEX", () => {
  assert.equal(generateNameWithIndex("pi", 3), "pi-3-");
  assert.equal(generateNameWithIndex("x".repeat(70), 12).length, 58);
  const spec = withCompletionIndexEnv({ containers: [{ name: "c" }] });
  assert.equal(spec.containers[0].env[0].name, "JOB_COMPLETION_INDEX");
  assert.equal(
    spec.containers[0].env[0].valueFrom.fieldRef.fieldPath,
    "metadata.annotations['batch.kubernetes.io/job-completion-index']",
  );
});
