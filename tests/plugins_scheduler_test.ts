/**
 * Scheduler plugins (skiff:scheduler@0.2.0) contain their failures: a guest that traps or answers
 * its error variant fails that cycle only, and the next cycle — on a fresh instance after a trap,
 * which holds no nodes — is answered on the nodes as the host last sent them. The same on the
 * direct path (control/scheduler/plugins/wasm_direct.ts), where the node cache lives on the
 * scheduler's side, per runner.
 */
import assert from "node:assert/strict";
import { NODE_CACHE_MISS, PluginCallError, type PluginObject } from "../control/api/plugins.ts";
import { PluginDirectCaller } from "../control/api/plugin_direct.ts";
import { DirectCycles } from "../control/scheduler/plugins/wasm_direct.ts";
import { PluginHost } from "../plugins/host/server.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { componentImpl } from "../plugins/host/conformance.ts";
import { node } from "../plugins/scheduler/conformance.ts";
import { ROOT, tempDir, testWith } from "./harness.ts";
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

/** A plugin host on the direct path running the trap fixture as Plugin `name`; disposes its dir too. */
async function trapHost(name: string, spec: Partial<PluginObject["spec"]> = {}) {
  const built = await buildPlugin({ kind: "scheduler", source: `${ROOT}/tests/fixtures/plugin_sched_trap/plugin.ts` });
  const dir = await tempDir("skiff-sched-direct-");
  const host = new PluginHost({ dataDir: dir.path, pull: () => Promise.resolve(built), log: () => {} });
  const dispose = async () => {
    await host[Symbol.asyncDispose]();
    await dir[Symbol.asyncDispose]();
  };
  try {
    await host.apply({
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name, generation: 1 },
      spec: { kind: "scheduler", image: `test.local/${name}@${built.digest}`, ...spec },
    } as PluginObject);
  } catch (e) {
    await dispose();
    throw e;
  }
  return { host, [Symbol.asyncDispose]: dispose };
}

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

testWith([NODE], "on the direct path, the scheduler's per-runner node cache resends every node after a trap and to a new runner", async () => {
  await using trap = await trapHost("trap");
  const { host } = trap;
  const ask = (path: string, body: unknown) => host.post(path, body);
  const direct = new DirectCycles(ask, "test-session");
  try {
    const nodes = Array.from({ length: 4 }, (_, i) => node(i)).map((record) => ({ record, json: JSON.stringify(record) }));
    const plugin = { name: "trap", ...BOTH };
    /** A cycle answered on the direct path (the first calls go through the host until the table names the runner). */
    const cycle = async (name: string, given = nodes) => {
      for (let i = 0; i < 200; i++) {
        const r = await direct.cycle(plugin, pod(name), given, 5000);
        if (r) return r;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error("the direct path never answered");
    };
    assert.deepEqual(await cycle("a"), { rejected: [], scores: [0, 1, 2, 3] });
    assert.deepEqual([direct.stats.nodesSent, direct.stats.nodesReferenced], [4, 0]);
    // Unchanged nodes travel as references to this scheduler's cache in the runner.
    assert.deepEqual(await cycle("b"), { rejected: [], scores: [0, 1, 2, 3] });
    assert.deepEqual([direct.stats.nodesSent, direct.stats.nodesReferenced], [4, 4]);
    // A trap fails the cycle (the host records it) and forgets what the runner holds.
    const trapped = await cycle("trap");
    assert.equal(trapped.failure?.reason, "Trap");
    assert.equal(direct.held("trap")?.size, 0);
    // The fresh instance is given every node again (sent in full), and answers on them.
    assert.deepEqual(await cycle("c"), { rejected: [], scores: [0, 1, 2, 3] });
    assert.deepEqual([direct.stats.nodesSent, direct.stats.nodesReferenced], [8, 8]);
    // An error answer fails the cycle only; what the runner holds is forgotten here all the same.
    assert.equal((await cycle("err")).failure?.reason, "PluginError");
    const changed = nodes.map((n, i) => i === 1 ? { record: { ...n.record, podCount: 7 }, json: JSON.stringify({ ...n.record, podCount: 7 }) } : n);
    assert.deepEqual(await cycle("d", changed), { rejected: [], scores: [0, 7, 2, 3] });
    assert.deepEqual([direct.stats.nodesSent, direct.stats.nodesReferenced], [12, 12]);
    assert.deepEqual(await cycle("e", changed), { rejected: [], scores: [0, 7, 2, 3] });
    assert.deepEqual([direct.stats.nodesSent, direct.stats.nodesReferenced], [12, 16]);
    assert.equal(direct.stats.misses, 0);

    // A reference the runner does not hold for the session: 409 NodeCacheMiss, nothing runs.
    const raw = new PluginDirectCaller(ask);
    try {
      let res = null;
      for (let i = 0; i < 200 && !res; i++) {
        res = await raw.post("trap", "/scheduler/cycle", {
          plugins: [plugin],
          pod: pod("trap"),
          nodes: ["node-0"],
          session: "another-session",
          key: "k-miss",
        }, "k-miss", 5000);
        if (!res) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(res?.status, 409);
      assert.equal((res?.body as { reason?: string }).reason, NODE_CACHE_MISS);
      // The same by slot: a range over slots this session never put there.
      const bySlot = (slots: unknown, key: string) =>
        raw.post("trap", "/scheduler/cycle", { plugins: [plugin], pod: pod("trap"), slots, put: [], session: "another-session", key }, key, 5000);
      res = await bySlot([[0, 2]], "k-miss-slot");
      assert.equal(res?.status, 409);
      assert.match((res?.body as { message?: string }).message!, /slot 0 is not in the session's cache/);
      // A malformed range is a 400, and nothing runs either.
      res = await bySlot([[-1, 2]], "k-bad-slot");
      assert.equal(res?.status, 400);
      // The plugin host itself takes nodes by name only: slots there are refused, not misread.
      const viaHost = await host.post("/scheduler/cycle", { plugins: [plugin], pod: pod("trap"), slots: [[0, 1]], session: "s" });
      assert.equal(viaHost.status, 400);
    } finally {
      raw.close();
    }
    assert.equal(host.list()[0].lastError?.count, 1, "the miss ran nothing (only the one trap is recorded)");

    // A new runner (killed and restarted by the host) holds nothing: every node is sent again.
    const pid = host.list()[0].pid!;
    Deno.kill(pid, "SIGKILL");
    for (let i = 0; i < 200 && (host.list()[0].pid === pid || !host.list()[0].ready); i++) await new Promise((r) => setTimeout(r, 20));
    let answered;
    for (let i = 0; i < 200; i++) {
      answered = await cycle("f", changed);
      if (!answered.failure && direct.stats.nodesSent > 12) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(answered, { rejected: [], scores: [0, 7, 2, 3] });
    assert.ok(direct.stats.nodesSent >= 16, `every node sent in full to the new runner (${direct.stats.nodesSent})`);
  } finally {
    direct.close();
  }
});

testWith([NODE], "on the direct path, a cycle past the plugin's deadline is a Timeout and the restarted runner gets every node", async () => {
  await using spin = await trapHost("spin", { timeoutSeconds: 1 });
  const { host } = spin;
  const direct = new DirectCycles((path, body) => host.post(path, body), "test-session");
  try {
    const nodes = Array.from({ length: 3 }, (_, i) => node(i)).map((record) => ({ record, json: JSON.stringify(record) }));
    const plugin = { name: "spin", ...BOTH };
    let first = null;
    for (let i = 0; i < 200 && !first; i++) {
      first = await direct.cycle(plugin, pod("a"), nodes, 1000);
      if (!first) await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(first, { rejected: [], scores: [0, 1, 2] });
    const spun = await direct.cycle(plugin, pod("spin"), nodes, 1000);
    assert.equal(spun?.failure?.reason, "Timeout", JSON.stringify(spun));
    // The host's kill at the deadline (not the caller giving up a second later).
    assert.match(spun!.failure!.message, /ran past its 1s deadline and was killed/);
    assert.equal(host.list()[0].lastError?.reason, "Timeout");
    const sentBefore = direct.stats.nodesSent;
    let again = null;
    for (let i = 0; i < 200; i++) {
      again = await direct.cycle(plugin, pod("b"), nodes, 1000);
      if (again && !again.failure) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(again, { rejected: [], scores: [0, 1, 2] });
    assert.equal(direct.stats.nodesSent - sentBefore, 3, "the new runner was sent every node in full");
  } finally {
    direct.close();
  }
});
