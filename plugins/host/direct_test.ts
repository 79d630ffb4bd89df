/**
 * The direct path (plugins/host/direct.ts, direct_endpoints.ts, control/api/plugin_direct.ts)
 * against a real plugin host, real runner processes and real guests: answers as the host gives
 * them, the token, the host-enforced deadline, a hot reload, and the fallback.
 */
import assert from "node:assert/strict";
import { PluginDirectCaller } from "../../control/api/plugin_direct.ts";
import type { PluginObject, PluginSpec } from "../../control/api/plugins.ts";
import { eachLine } from "../../control/api/plugin_channel.ts";
import { ROOT, tempDir, testWith } from "../../tests/harness.ts";
import { NODE } from "../../tests/fixtures/build.ts";
import { buildPlugin } from "./build.ts";
import { PluginHost, RUNNER_NICE, runnerNice } from "./server.ts";

const STAMP = `${ROOT}/tests/fixtures/plugin_stamp/plugin.ts`;
const HOSTILE = `${ROOT}/tests/fixtures/plugin_hostile/plugin.ts`;

function plugin(name: string, image: string, spec: Partial<PluginSpec>, generation = 1): PluginObject {
  return {
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name, generation },
    spec: { kind: "admission", image, ...spec },
  } as PluginObject;
}

function review(uid = crypto.randomUUID()) {
  const object = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default" },
    spec: { containers: [{ name: "c", image: "x:1" }] },
  };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      name: "p",
      namespace: "default",
      operation: "CREATE",
      userInfo: { username: "u", groups: [] },
      object,
      dryRun: false,
    },
  };
}

async function setup() {
  const dir = await tempDir("skiff-direct-");
  const built = {
    [STAMP]: await buildPlugin({ kind: "admission", source: STAMP }),
    [HOSTILE]: await buildPlugin({ kind: "admission", source: HOSTILE }),
  };
  const byDigest = new Map(Object.values(built).map((b) => [b.digest, b]));
  const host = new PluginHost({
    dataDir: `${dir.path}/host`,
    pull: (image) => Promise.resolve(byDigest.get(image.split("@")[1])!),
    log: () => {},
  });
  const direct = new PluginDirectCaller((path, body) => host.post(path, body));
  /** A direct call, once the table names the plugin (the first calls go through the host). */
  const call = async (name: string, body = review(), deadlineMs = 10_000) => {
    for (let i = 0; i < 200; i++) {
      const a = await direct.post(name, `/admission/${name}/validate`, body, body.request.uid, deadlineMs);
      if (a) return a;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no direct endpoint for ${name}`);
  };
  return {
    host,
    direct,
    call,
    image: (source: string) => `test.local/p@${built[source].digest}`,
    async [Symbol.asyncDispose]() {
      direct.close();
      await host[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

testWith(
  [NODE],
  "a runner answers its plugin's calls on its direct endpoint exactly as the plugin host does",
  async () => {
    await using s = await setup();
    await s.host.apply(plugin("stamp", s.image(STAMP), { config: { stamp: "v1" } }));
    const body = review();
    const direct = await s.call("stamp", body);
    const viaHost = await s.host.post("/admission/stamp/validate", body);
    assert.deepEqual(direct, viaHost);
    assert.deepEqual((direct.body as { response: { warnings: string[] } }).response.warnings, [
      "validated by v1",
    ]);
    assert.ok(s.direct.stats.direct >= 1);
    // A path of another plugin, or not an AdmissionReview: refused by the runner.
    const table = (await s.host.post("/direct", {})).body as {
      plugins: Record<string, { path: string; token: string }>;
    };
    assert.ok(table.plugins.stamp.path.endsWith(".sock"));
    assert.equal(
      (await Deno.stat(table.plugins.stamp.path.replace(/\/[^/]*$/, ""))).mode! & 0o077,
      0,
      "the socket directory is private",
    );
  },
);

testWith([NODE], "a connection without the runner's token is closed before any call runs", async () => {
  await using s = await setup();
  await s.host.apply(plugin("stamp", s.image(STAMP), {}));
  const { plugins } = (await s.host.post("/direct", {})).body as {
    plugins: Record<string, { path: string; token: string }>;
  };
  const conn = await Deno.connect({ transport: "unix", path: plugins.stamp.path });
  const enc = new TextEncoder();
  await conn.write(
    enc.encode(
      JSON.stringify({ token: "0".repeat(64) }) + "\n" +
        JSON.stringify({ id: 1, path: "/admission/stamp/validate", body: review(), ms: 1000 }) + "\n",
    ),
  );
  const got: string[] = [];
  await eachLine(conn, (line) => got.push(line) > 0);
  conn.close();
  assert.deepEqual(got, [], "no answer: the connection was closed");
});

testWith(
  [NODE],
  "a direct call past its deadline: the host kills the runner and the caller gets Timeout, as through the host",
  async () => {
    await using s = await setup();
    await s.host.apply(plugin("loop", s.image(HOSTILE), { config: { mode: "loop" }, timeoutSeconds: 1 }));
    const t0 = performance.now();
    const a = await s.call("loop", review(), 1000);
    assert.ok(performance.now() - t0 < 8000);
    assert.equal(a.status, 500);
    assert.deepEqual(a.body, {
      kind: "PluginFailure",
      plugin: "loop",
      reason: "Timeout",
      message: "the plugin ran past its 1s deadline and was killed",
    });
    const listed = s.host.list().find((p) => p.name === "loop")!;
    assert.equal(listed.lastError?.reason, "Timeout");
    // The host starts it again; the new runner gets a new endpoint, which the caller learns.
    for (let i = 0; i < 200 && !s.host.list().find((p) => p.name === "loop")?.ready; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(
      s.host.list().find((p) => p.name === "loop")!.restarts >= 1,
    );
  },
);

testWith(
  [NODE],
  "hostile guests on the direct path fail with the host path's reasons, and the host records them",
  async () => {
    await using s = await setup();
    const cases: [string, string, RegExp][] = [
      ["memory", "MemoryLimit", /^the plugin ran out of memory \(limit 32 MiB\)$/],
      ["capability", "CapabilityDenied", /called skiff:host\/state.get, which is not granted/],
      ["garbage", "MalformedResult", /a denial's code must be 0 or 400–599, not 7/],
    ];
    for (const [mode] of cases) {
      await s.host.apply(
        plugin(mode, s.image(HOSTILE), { config: { mode }, memory: "32Mi", timeoutSeconds: 10 }),
      );
    }
    for (const [mode, reason, message] of cases) {
      const a = await s.call(mode);
      const body = a.body as { kind: string; reason: string; message: string };
      assert.equal(a.status, 500, mode);
      assert.equal(body.kind, "PluginFailure");
      assert.equal(body.reason, reason);
      assert.match(body.message, message);
      assert.equal(
        s.host.list().find((p) => p.name === mode)!.lastError?.reason,
        reason,
        `${mode}: recorded by the host`,
      );
      // The runner recycled the instance and keeps serving on the same endpoint.
      assert.equal((await s.call(mode)).status, 500);
    }
  },
);

testWith(
  [NODE],
  "a hot reload: the old runner finishes its calls, then callers reach the new version",
  async () => {
    await using s = await setup();
    await s.host.apply(plugin("stamp", s.image(STAMP), { config: { stamp: "v1" } }));
    const warn = (a: { body: unknown }) =>
      (a.body as { response: { warnings: string[] } }).response.warnings[0];
    assert.equal(warn(await s.call("stamp")), "validated by v1");
    const old = s.host.list()[0].pid;
    await s.host.apply(plugin("stamp", s.image(STAMP), { config: { stamp: "v2" } }, 2));
    // Every answer is a real answer; direct ones come from v2 once the table is refreshed.
    let seen = "";
    for (let i = 0; i < 200 && seen !== "validated by v2"; i++) {
      const body = review();
      const a = await s.direct.post("stamp", "/admission/stamp/validate", body, body.request.uid, 10_000) ??
        await s.host.post("/admission/stamp/validate", body);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      seen = warn(a);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(seen, "validated by v2");
    assert.notEqual(s.host.list()[0].pid, old);
  },
);

testWith(
  [NODE],
  "without a direct endpoint (direct: false) every call goes through the plugin host",
  async () => {
    await using dir = await tempDir("skiff-direct-off-");
    const built = await buildPlugin({ kind: "admission", source: STAMP });
    await using host = new PluginHost({
      dataDir: dir.path,
      pull: () => Promise.resolve(built),
      log: () => {},
      direct: false,
    });
    await host.apply(plugin("stamp", `test.local/p@${built.digest}`, {}));
    assert.deepEqual((await host.post("/direct", {})).body, { plugins: {} });
    const direct = new PluginDirectCaller((path, body) => host.post(path, body));
    const body = review();
    for (let i = 0; i < 5; i++) {
      assert.equal(
        await direct.post("stamp", "/admission/stamp/validate", body, body.request.uid, 1000),
        null,
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    direct.close();
  },
);

testWith(
  [NODE],
  "draining a runner (removal, hot reload) answers the calls it accepted, then closes the connection",
  async () => {
    await using s = await setup();
    await s.host.apply(plugin("stamp", s.image(STAMP), { config: { stamp: "v1" } }));
    const { plugins } = (await s.host.post("/direct", {})).body as {
      plugins: Record<string, { path: string; token: string }>;
    };
    const conn = await Deno.connect({ transport: "unix", path: plugins.stamp.path });
    const calls = Array.from(
      { length: 200 },
      (_, i) => JSON.stringify({ id: i + 1, path: "/admission/stamp/validate", body: review(), ms: 10_000 }),
    );
    await conn.write(
      new TextEncoder().encode([JSON.stringify({ token: plugins.stamp.token }), ...calls].join("\n") + "\n"),
    );
    const answers: { id: number; status: number; body: { response?: { warnings: string[] } } }[] = [];
    let removed: Promise<void> | null = null;
    await eachLine(conn, (line) => {
      answers.push(JSON.parse(line));
      // Drain once the runner is serving the calls: those it has read are answered.
      removed ??= s.host.remove("stamp");
      return true;
    });
    conn.close();
    await removed;
    assert.ok(answers.length >= 2, `the calls it had accepted were answered (${answers.length})`);
    for (const a of answers) {
      assert.equal(a.status, 200, JSON.stringify(a));
      assert.deepEqual(a.body.response?.warnings, ["validated by v1"]);
    }
    // The connection closed (the loop above ended); the socket is gone: no new connection.
    await assert.rejects(Deno.connect({ transport: "unix", path: plugins.stamp.path }));
  },
);

Deno.test("runnerNice() gives scheduler and runtime runners nice -5 by default, admission runners the host's", () => {
  assert.deepEqual(RUNNER_NICE, { admission: 0, scheduler: -5, runtime: -5 });
  assert.deepEqual(runnerNice("scheduler"), { nice: -5 });
  assert.deepEqual(runnerNice("admission"), {});
  assert.deepEqual(runnerNice("scheduler", { scheduler: 0 }), {});
  assert.deepEqual(runnerNice("admission", { admission: -2 }), { nice: -2 });
  assert.deepEqual(runnerNice("network", { admission: -2, scheduler: -2 }), {});
  assert.deepEqual(runnerNice("scheduler", undefined, false), {}, "a scheduler runner the host serves: its priority");
  assert.deepEqual(runnerNice("runtime", undefined, false), { nice: -5 }, "a pod start's path on a node");
  assert.deepEqual(runnerNice("runtime", { runtime: 0 }, false), {});
});

/** The nice value of a thread (`/proc/<pid>/task/<tid>/stat`, field 19). */
function niceOf(pid: number, tid = pid): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

testWith([NODE], "a direct runner's main thread runs at the host's runnerNice for its kind", async () => {
  await using dir = await tempDir("skiff-direct-nice-");
  const built = await buildPlugin({ kind: "admission", source: STAMP });
  await using host = new PluginHost({
    dataDir: `${dir.path}/host`,
    pull: () => Promise.resolve(built),
    log: () => {},
    runnerNice: { admission: -3 },
  });
  await host.apply(plugin("stamp", `test.local/p@${built.digest}`, {}));
  const pid = host.list().find((e) => e.name === "stamp")!.pid!;
  // Root (CAP_SYS_NICE) may raise the priority; anyone else keeps the host's.
  assert.equal(niceOf(pid), Deno.uid() === 0 ? -3 : niceOf(Deno.pid));
});
