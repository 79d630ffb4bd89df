/**
 * Scheduler plugins (skiff:scheduler@0.2.0) contain their failures: a guest that traps or answers
 * its error variant fails that cycle only, and the next cycle — on a fresh instance after a trap,
 * which holds no nodes — is answered on the nodes as the host last sent them.
 */
import assert from "node:assert/strict";
import { PluginCallError } from "../control/api/plugins.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { componentImpl } from "../plugins/host/conformance.ts";
import { node } from "../plugins/scheduler/conformance.ts";
import { ROOT, testWith } from "./harness.ts";
import { NODE } from "./fixtures/build.ts";

const pod = (name: string) => ({
  namespace: "default",
  name,
  uid: `uid-${name}`,
  labels: [],
  nodeSelector: [],
  milliCpu: 100,
  memory: 1 << 20,
  priority: 0,
  images: [],
  runtimeClass: null,
});
const BOTH = { filter: true, score: true };

testWith([NODE], "a scheduler plugin that traps or errs fails one cycle; the next is answered on the nodes as last sent", async () => {
  const built = await buildPlugin({ kind: "scheduler", source: `${ROOT}/tests/fixtures/plugin_sched_trap/plugin.ts` });
  await using p = await componentImpl("scheduler", built.bytes)();
  const nodes = Array.from({ length: 4 }, (_, i) => node(i));
  const names = nodes.map((n) => n.name);
  assert.deepEqual(await p.call("cycle", pod("a"), nodes, BOTH), { rejected: [], scores: [0, 1, 2, 3] });
  await assert.rejects(p.call("cycle", pod("trap"), names, BOTH), (e: unknown) => e instanceof PluginCallError && e.reason === "Trap");
  // A fresh instance: every node is put again from the runner's cache (references resolve).
  assert.deepEqual(await p.call("cycle", pod("b"), names, BOTH), { rejected: [], scores: [0, 1, 2, 3] });
  await assert.rejects(p.call("cycle", pod("err"), names, BOTH), (e: unknown) => e instanceof PluginCallError && e.reason === "PluginError");
  // The same instance (an error variant is not a failure of the instance); node-1 changed.
  const changed = [names[0], { ...nodes[1], podCount: 7 }, names[2], names[3]];
  assert.deepEqual(await p.call("cycle", pod("c"), changed, BOTH), { rejected: [], scores: [0, 7, 2, 3] });
});
