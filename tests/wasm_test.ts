/**
 * Wasm component pods end to end, with real parts: fixtures built from source during the run,
 * pushed to a real `docker-registry` on 127.0.0.1, pulled by the node's registry client,
 * transpiled by jco, and run in sandbox processes.
 * @module
 */
import assert from "node:assert/strict";
import { RegistryClient } from "../node/registry/client.ts";
import {
  classifyArtifact,
  ComponentCache,
  ComponentRefusedError,
  type ContainerExit,
  type PreparedComponent,
  Sandbox,
  type SandboxOptions,
} from "../wasm/mod.ts";
import { buildFixture, type FixtureName, fixturePrerequisites } from "./fixtures/build.ts";
import { type Layout, pushFixture } from "./fixtures/push.ts";
import { testWith } from "./harness.ts";
import { DOCKER_REGISTRY, freePort, startRegistry, type TestRegistry } from "./registry.ts";

const dec = new TextDecoder();
const NEEDS = (...names: FixtureName[]) => [DOCKER_REGISTRY, ...new Set(names.flatMap(fixturePrerequisites))];
const SLOW = { sanitizeOps: true, sanitizeResources: true };

/** A registry, a node-side blob store and component cache, torn down together. */
async function node(): Promise<
  { registry: TestRegistry; client: RegistryClient; cache: ComponentCache; dir: string } & AsyncDisposable
> {
  const registry = await startRegistry();
  const dir = await Deno.makeTempDir({ prefix: "skiff-wasm-test-" });
  const cache = new ComponentCache({ dir: `${dir}/wasm` });
  return {
    registry,
    client: new RegistryClient({ blobDir: `${dir}/blobs` }),
    cache,
    dir,
    async [Symbol.asyncDispose]() {
      cache.close();
      await registry.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

type Node = Awaited<ReturnType<typeof node>>;

/** Pushes a fixture, pulls it back as the node does, and prepares its component. */
async function deploy(
  n: Node,
  name: FixtureName,
  opts: { layout?: Layout; pinned?: boolean } = {},
): Promise<PreparedComponent> {
  const pushed = await pushFixture(n.registry.host, name, { layout: opts.layout });
  const image = await n.client.pull(opts.pinned ? pushed.pinned : pushed.reference);
  const kind = classifyArtifact(image.manifest);
  if (kind.kind !== "wasm") throw new Error(`not a runnable Wasm artifact: ${JSON.stringify(kind)}`);
  const layer = image.layers.find((l) => l.descriptor.digest === kind.layer.digest)!;
  return await n.cache.prepare({ path: layer.path, digest: layer.descriptor.digest });
}

/** Collects what sandboxes report. */
function recorder() {
  const out = new Map<string, string>();
  const exits = new Map<string, ContainerExit>();
  return {
    out,
    exits,
    text: (id: string, stream: "stdout" | "stderr" = "stdout") => out.get(`${id}/${stream}`) ?? "",
    options: {
      onOutput: (id: string, stream: "stdout" | "stderr", bytes: Uint8Array) =>
        out.set(`${id}/${stream}`, (out.get(`${id}/${stream}`) ?? "") + dec.decode(bytes)),
      onExit: (id: string, exit: ContainerExit) => exits.set(id, exit),
    } satisfies Partial<SandboxOptions>,
  };
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

testWith(
  NEEDS("hello_qjs"),
  "a QuickJS command pulled from the registry runs in a sandbox and reports its exit code and output",
  async () => {
    await using n = await node();
    const component = await deploy(n, "hello_qjs");
    assert.equal(component.kind, "command");
    const vol = `${n.dir}/vol`;
    await Deno.mkdir(vol);
    await Deno.writeTextFile(`${vol}/a.txt`, "a");
    await Deno.writeTextFile(`${vol}/b.txt`, "b");
    const rec = recorder();
    await using sandbox = await Sandbox.start({
      permissions: { read: [n.cache.dir, vol], net: "none" },
      ...rec.options,
    });
    await sandbox.startContainer({
      id: "hello",
      component,
      env: [["NAME", "skiff"], ["EXIT_CODE", "3"]],
      args: ["hello", "--flag"],
      mounts: [{ hostPath: vol, guestPath: "/data", readOnly: true }],
    });
    assert.deepEqual(await sandbox.waitContainer("hello"), { exitCode: 3, reason: "Error" });
    assert.equal(
      rec.text("hello"),
      'hello from quickjs, skiff\nargs: ["hello","--flag"]\n/data: a.txt,b.txt\n',
    );
    assert.equal(rec.text("hello", "stderr"), "a line on stderr\n");
  },
  SLOW,
);

testWith(
  NEEDS("hello_c"),
  "a C command sleeps without blocking its sandbox, writes only where its volume is writable, and stays inside it",
  async () => {
    await using n = await node();
    const component = await deploy(n, "hello_c", { layout: "wasm-to-oci", pinned: true });
    const proxy = await deploy(n, "http_sm", { layout: "bytecodealliance" });
    const rw = `${n.dir}/rw`;
    const ro = `${n.dir}/ro`;
    await Deno.mkdir(rw);
    await Deno.mkdir(ro);
    await Deno.writeTextFile(`${ro}/in.txt`, "from the host\n");
    const rec = recorder();
    const port = freePort();
    await using sandbox = await Sandbox.start({
      permissions: { read: [n.cache.dir, ro], write: [rw], net: ["127.0.0.1"] },
      ...rec.options,
    });
    await sandbox.startContainer({ id: "web", component: proxy, listen: [{ ip: "127.0.0.1", port }] });
    await sandbox.startContainer({
      id: "writer",
      component,
      env: [["NAME", "C"], ["SLEEP_MS", "2000"]],
      args: ["hello"],
      mounts: [{ hostPath: rw, guestPath: "/data" }],
    });
    assert.equal((await get(`http://127.0.0.1:${port}/`)).text, "hello from wasm\n");
    assert.equal(rec.exits.has("writer"), false, "its neighbour answered while the command slept");
    assert.deepEqual(await sandbox.waitContainer("writer"), { exitCode: 0, reason: "Completed" });
    assert.match(
      rec.text("writer"),
      /^hello from C, C\narg\[0\]=hello\nslept 2000 ms\nwrote \/data\/out.txt\nescape: Operation not permitted\n$/,
    );
    assert.equal(rec.text("writer", "stderr"), "C writes to stderr\n");
    assert.equal(await Deno.readTextFile(`${rw}/out.txt`), "written by C\n");

    await sandbox.startContainer({
      id: "reader",
      component,
      env: [["FAIL", "1"]],
      mounts: [{ hostPath: ro, guestPath: "/data", readOnly: true }],
    });
    assert.deepEqual(await sandbox.waitContainer("reader"), { exitCode: 1, reason: "Error" });
    assert.match(
      rec.text("reader"),
      /read \/data\/in.txt: from the host\ncannot write \/data\/out.txt: Read-only file system\n/,
    );
    assert.equal(await Deno.stat(`${ro}/out.txt`).then(() => true, () => false), false);
  },
  SLOW,
);

testWith(
  NEEDS("http_sm"),
  "a proxy component serves HTTP on its address and calls another pod through wasi:http",
  async () => {
    await using n = await node();
    const component = await deploy(n, "http_sm");
    assert.equal(component.kind, "proxy");
    const rec = recorder();
    const [a, b] = [freePort(), freePort()];
    const permissions = { read: [n.cache.dir], net: ["127.0.0.1"] };
    await using front = await Sandbox.start({ permissions, ...rec.options });
    await using back = await Sandbox.start({ permissions, ...rec.options });
    await front.startContainer({
      id: "front",
      component,
      env: [["GREETING", "front"]],
      listen: [{ ip: "127.0.0.1", port: a }],
    });
    await back.startContainer({
      id: "back",
      component,
      env: [["GREETING", "back"]],
      listen: [{ ip: "127.0.0.1", port: b }],
    });
    assert.deepEqual(await get(`http://127.0.0.1:${a}/`), { status: 200, text: "hello from front\n" });
    const big = "x".repeat(100_000);
    assert.deepEqual(await get(`http://127.0.0.1:${a}/echo`, { method: "POST", body: big }), {
      status: 200,
      text: big,
    });
    assert.deepEqual(JSON.parse((await get(`http://127.0.0.1:${b}/env`)).text), { GREETING: "back" });
    const via = await get(`http://127.0.0.1:${a}/fetch?url=${encodeURIComponent(`http://127.0.0.1:${b}/`)}`);
    assert.deepEqual(via, { status: 200, text: "hello from back\n" });
    assert.equal((await get(`http://127.0.0.1:${a}/sleep?ms=50`)).text, "slept 50 ms\n");

    assert.deepEqual(await front.stopContainer("front", 2000), { exitCode: 0, reason: "Completed" });
    await assert.rejects(fetch(`http://127.0.0.1:${a}/`), "a stopped proxy no longer listens");
    assert.equal((await get(`http://127.0.0.1:${b}/`)).status, 200);
  },
  SLOW,
);

testWith(
  NEEDS("http_sm"),
  "a spinning guest gets only its own sandbox killed, while a pod in another sandbox keeps answering",
  async () => {
    await using n = await node();
    const component = await deploy(n, "http_sm");
    const rec = recorder();
    const [quiet, spin, bystander] = [freePort(), freePort(), freePort()];
    const permissions = { read: [n.cache.dir], net: ["127.0.0.1"] };
    await using calm = await Sandbox.start({ permissions, deadlineMs: 1000, ...rec.options });
    await using busy = await Sandbox.start({ permissions, deadlineMs: 1000, ...rec.options });
    await calm.startContainer({ id: "calm", component, listen: [{ ip: "127.0.0.1", port: quiet }] });
    await busy.startContainer({ id: "spinner", component, listen: [{ ip: "127.0.0.1", port: spin }] });
    await busy.startContainer({ id: "bystander", component, listen: [{ ip: "127.0.0.1", port: bystander }] });

    await get(`http://127.0.0.1:${quiet}/`);
    const polls: { at: number; status: number }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await get(`http://127.0.0.1:${quiet}/`).catch(() => ({ status: 0, text: "" }));
        polls.push({ at: performance.now(), status: r.status });
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const t0 = performance.now();
    const spun = await fetch(`http://127.0.0.1:${spin}/spin`).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    }, () => "connection lost");
    const killedAt = performance.now();
    const killedAfter = killedAt - t0;
    const exit = await busy.exited;
    polling = false;
    await poller;

    assert.equal(spun, "connection lost");
    assert.ok(killedAfter >= 900, `killed after ${killedAfter} ms, not before the 1000 ms deadline`);
    assert.equal(exit.reason, "unresponsive");
    assert.equal(rec.exits.get("spinner")?.reason, "Unresponsive");
    assert.equal(rec.exits.get("spinner")?.collateral, undefined);
    assert.deepEqual({ ...rec.exits.get("bystander"), message: undefined }, {
      exitCode: 137,
      reason: "SandboxLost",
      collateral: true,
      message: undefined,
    });
    assert.deepEqual(polls.filter((p) => p.status !== 200), [], "the other sandbox never failed to answer");
    assert.ok(
      polls.some((p) => p.at > t0 + 200 && p.at < killedAt),
      "the other sandbox answered while its neighbour's guest was spinning",
    );
    assert.equal(rec.exits.has("calm"), false);
  },
  SLOW,
);

testWith(
  NEEDS("http_sm"),
  "a memory bomb is OOMKilled at its memory limit; its sandbox neighbour and another sandbox keep serving",
  async () => {
    await using n = await node();
    const component = await deploy(n, "http_sm");
    const rec = recorder();
    const [bomb, neighbour, elsewhere] = [freePort(), freePort(), freePort()];
    const permissions = { read: [n.cache.dir], net: ["127.0.0.1"] };
    await using sandbox = await Sandbox.start({ permissions, ...rec.options });
    await using other = await Sandbox.start({ permissions, ...rec.options });
    await sandbox.startContainer({
      id: "bomb",
      component,
      memoryLimitBytes: 160 * 1024 * 1024,
      listen: [{ ip: "127.0.0.1", port: bomb }],
    });
    await sandbox.startContainer({
      id: "neighbour",
      component,
      listen: [{ ip: "127.0.0.1", port: neighbour }],
    });
    await other.startContainer({
      id: "elsewhere",
      component,
      listen: [{ ip: "127.0.0.1", port: elsewhere }],
    });
    let polling = true;
    const answers: number[] = [];
    const poller = (async () => {
      while (polling) {
        answers.push((await get(`http://127.0.0.1:${elsewhere}/`).catch(() => ({ status: 0 }))).status);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const r = await get(`http://127.0.0.1:${bomb}/bomb`).catch(() => ({ status: 0, text: "" }));
    const exit = await sandbox.waitContainer("bomb");
    polling = false;
    await poller;
    assert.notEqual(r.status, 200);
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.reason, "OOMKilled");
    assert.match(rec.text("bomb", "stderr"), /out of memory/);
    assert.equal((await get(`http://127.0.0.1:${neighbour}/`)).text, "hello from wasm\n");
    assert.equal(sandbox.containers.join(), "neighbour");
    assert.ok(
      answers.length > 0 && answers.every((s) => s === 200),
      `the other sandbox answered ${answers.join(",")}`,
    );
  },
  SLOW,
);

testWith(
  NEEDS("http_sm"),
  "a trapping handler ends its container with exit code 134, and instances of one image share compiled code",
  async () => {
    await using n = await node();
    const component = await deploy(n, "http_sm");
    const rec = recorder();
    const ports = [freePort(), freePort(), freePort()];
    await using sandbox = await Sandbox.start({
      permissions: { read: [n.cache.dir], net: ["127.0.0.1"] },
      ...rec.options,
    });
    for (const [i, port] of ports.entries()) {
      await sandbox.startContainer({
        id: `p${i}`,
        component,
        env: i === 0 ? [["MODE", "crash"]] : [],
        listen: [{ ip: "127.0.0.1", port }],
      });
    }
    assert.equal((await get(`http://127.0.0.1:${ports[0]}/`)).status, 500);
    const exit = await sandbox.waitContainer("p0");
    assert.equal(exit.exitCode, 134);
    assert.equal(exit.reason, "Error");
    assert.match(exit.message ?? "", /trapped/);
    assert.match(rec.text("p0", "stderr"), /crash requested/);
    assert.equal((await get(`http://127.0.0.1:${ports[1]}/`)).status, 200);
    await new Promise((r) => setTimeout(r, 600)); // a heartbeat carries the loader's figures
    assert.equal(
      sandbox.stats.compiledModules,
      component.coreModules.length,
      "three containers, one compiled copy",
    );
  },
  SLOW,
);

testWith(
  NEEDS("unsupported_qjs", "hello_c_core"),
  "components the node cannot run are refused before they start, with the reason",
  async () => {
    await using n = await node();
    const refused = await deploy(n, "unsupported_qjs").catch((e) => e);
    assert.ok(refused instanceof ComponentRefusedError, String(refused));
    assert.match(refused.reason, /imports skiff:fixtures\/secret-store, which this node does not provide/);
    const core = await buildFixture("hello_c_core");
    await assert.rejects(n.cache.prepare({ bytes: core.bytes }), /core module, not a component/);
    await assert.rejects(
      n.cache.prepare({ bytes: new TextEncoder().encode("#!/bin/sh") }),
      /not a WebAssembly component/,
    );
    const again = await deploy(n, "unsupported_qjs").catch((e) => e);
    assert.equal(again.reason, refused.reason);
    assert.deepEqual(
      n.cache.stats,
      { transpiled: 0, fromDisk: 1 },
      "refused before transpiling, and the refusal was cached",
    );
  },
  SLOW,
);

testWith(
  NEEDS("http_c"),
  "an idle proxy instance is dropped and its memory returned; the next request gets a fresh one",
  async () => {
    await using n = await node();
    const component = await deploy(n, "http_c");
    assert.equal(component.kind, "proxy");
    const port = freePort();
    await using sandbox = await Sandbox.start({ permissions: { read: [n.cache.dir], net: ["127.0.0.1"] } });
    await sandbox.startContainer({
      id: "lean",
      component,
      listen: [{ ip: "127.0.0.1", port }],
      idleInstanceMs: 1500,
    });
    const wasmBytes = async (want: (b: number) => boolean, what: string) => {
      for (const t0 = Date.now(); !want(sandbox.stats.wasmBytes);) {
        if (Date.now() - t0 > 10_000) {
          throw new Error(`${what} within 10 s (wasmBytes ${sandbox.stats.wasmBytes})`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await wasmBytes((b) => b > 0, "the first instance was not made at start");
    assert.deepEqual(await get(`http://127.0.0.1:${port}/`), { status: 200, text: "hello from c\n" });
    await wasmBytes((b) => b === 0, "the idle instance was not dropped");
    assert.deepEqual(await get(`http://127.0.0.1:${port}/`), { status: 200, text: "hello from c\n" });
    await wasmBytes((b) => b > 0, "no new instance served the request");
    assert.deepEqual(await sandbox.stopContainer("lean", 2000), { exitCode: 0, reason: "Completed" });
  },
  SLOW,
);

testWith(NEEDS("hello_qjs"), "transpiled components survive a restart of the agent", async () => {
  await using n = await node();
  const first = await deploy(n, "hello_qjs");
  assert.equal(n.cache.stats.transpiled, 1);
  const restarted = new ComponentCache({ dir: n.cache.dir });
  try {
    const fixture = await buildFixture("hello_qjs");
    const again = await restarted.prepare({ bytes: fixture.bytes });
    assert.deepEqual(again, first);
    assert.deepEqual(restarted.stats, { transpiled: 0, fromDisk: 1 });
  } finally {
    restarted.close();
  }
}, SLOW);

testWith(
  NEEDS("hello_c"),
  "a sandbox runs with narrow permissions and stops a command after the grace period",
  async () => {
    await using n = await node();
    const component = await deploy(n, "hello_c");
    const rec = recorder();
    await using sandbox = await Sandbox.start({
      permissions: { read: [n.cache.dir], net: "none" },
      heapLimitMiB: 128,
      ...rec.options,
    });
    const cmdline = (await Deno.readTextFile(`/proc/${sandbox.pid}/cmdline`)).split("\0");
    assert.ok(cmdline.includes("--v8-flags=--expose-gc,--max-old-space-size=128"));
    assert.ok(cmdline.some((a) => a.startsWith("--allow-read=")));
    assert.ok(
      !cmdline.some((a) => /^(-A|--allow-all|--allow-(run|env|ffi|sys|write|net))/.test(a)),
      cmdline.join(" "),
    );
    await sandbox.startContainer({ id: "sleeper", component, env: [["SLEEP_MS", "60000"]] });
    const t0 = performance.now();
    const exit = await sandbox.stopContainer("sleeper", 200);
    assert.equal(exit.exitCode, 137);
    assert.ok(performance.now() - t0 < 30_000, "it did not wait for the minute-long sleep");
    await assert.rejects(
      sandbox.startContainer({ id: "bad", component, memoryLimitBytes: 64 * 1024 }),
      /needs at least .* of memory at start/,
    );
  },
  SLOW,
);

testWith(NEEDS("hello_c"), "resources.limits.cpu caps a spinning sandbox through its cgroup", async (t) => {
  await using n = await node();
  const component = await deploy(n, "hello_c");
  await using sandbox = await Sandbox.start({
    permissions: { read: [n.cache.dir], net: "none" },
    deadlineMs: 0,
    cgroup: { cpuMillis: 200 },
  });
  if (!sandbox.limits.enforced) {
    if (Deno.env.get("CI") === "true") {
      throw new Error(`cgroup v1 is required under CI: ${sandbox.limits.reason}`);
    }
    console.error(`skipping the CPU check: ${sandbox.limits.reason}`);
    return;
  }
  await sandbox.startContainer({ id: "spin", component, env: [["SPIN", "1"]] });
  const ticks = async () =>
    Number((await Deno.readTextFile(`/proc/${sandbox.pid}/stat`)).split(") ")[1].split(" ")[11]);
  await new Promise((r) => setTimeout(r, 300));
  const before = await ticks();
  await new Promise((r) => setTimeout(r, 1500));
  const used = (await ticks()) - before; // clock ticks of 10 ms
  await t.step(`the sandbox used ${used * 10} ms of CPU in 1500 ms`, () => {
    assert.ok(used * 10 < 1500 * 0.4, "at most ~20 % of a core, with slack");
    assert.ok(used > 0);
  });
}, SLOW);
