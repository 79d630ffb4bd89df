import assert from "node:assert/strict";
import { CliError } from "./errors.ts";
import { LOCK_FILE } from "./lock.ts";
import { type NodeAgentContext, startNodeAgent } from "./node_agent.ts";
import { groupMembers } from "./proc.ts";
import { runUp, type StartControlPlane, type UpDeps } from "./up.ts";

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "skiff-up-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), "timed out");
}

/** A stand-in control plane: a real listener and the real KV file, without the API server. */
function fakeControlPlane() {
  const calls: Record<string, unknown>[] = [];
  let open = 0;
  const start: StartControlPlane = async (opts) => {
    calls.push(opts);
    const kv = await Deno.openKv(opts.kvPath);
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve(
        { port: opts.port, hostname: opts.hostname, onListen() {} },
        // `up` asks the API for its node's credential (a TokenRequest).
        () => Response.json({ status: { token: "t" } }),
      );
    } catch (e) {
      kv.close();
      throw e;
    }
    open++;
    return {
      url: `http://${server.addr.hostname}:${server.addr.port}`,
      async close() {
        await server.shutdown();
        kv.close();
        open--;
      },
    };
  };
  return { start, calls, isOpen: () => open > 0 };
}

function deps(start: StartControlPlane, over: Partial<UpDeps> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const ready = Promise.withResolvers<void>();
  const d: UpDeps = {
    startControlPlane: start,
    startNodeAgent: () => Promise.resolve(),
    out(line) {
      out.push(line);
      if (out.length === 2) ready.resolve();
    },
    err: (line) => err.push(line),
    graceMs: 200,
    ...over,
  };
  return { d, out, err, ready: ready.promise };
}

Deno.test("runUp() prints exactly the server and kubeconfig lines when ready and stops cleanly on abort", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  const cp = fakeControlPlane();
  const { d, out, ready } = deps(cp.start);
  const stop = new AbortController();
  const done = runUp({ dataDir, port: 0, node: false }, d, stop.signal);
  await ready;
  assert.equal(cp.calls.length, 1);
  const { kvPath, port, hostname, tls, authentication, rbac, builtinAdmission, store } = cp.calls[0];
  assert.deepEqual({ kvPath, port, hostname }, { kvPath: `${dataDir}/state.kv`, port: 0, hostname: "127.0.0.1" });
  assert.ok(tls && authentication && rbac && builtinAdmission && store, "up runs a secured control plane");
  assert.match(out[0], /^server: http:\/\/127\.0\.0\.1:[0-9]+$/);
  assert.equal(out[1], `kubeconfig: ${dataDir}/kubeconfig`);
  const server = out[0].slice("server: ".length);
  assert.ok((await Deno.readTextFile(`${dataDir}/kubeconfig`)).includes(`server: ${server}`));
  assert.equal(await (await fetch(server)).text(), `{"status":{"token":"t"}}`);
  assert.equal(await Deno.readTextFile(`${dataDir}/${LOCK_FILE}`), `${Deno.pid}\n`);
  stop.abort();
  assert.equal(await done, 0);
  assert.equal(out.length, 2);
  assert.equal(cp.isOpen(), false);
  assert.equal(await Deno.readTextFile(`${dataDir}/${LOCK_FILE}`), "");
});

Deno.test("runUp() refuses a data dir another up is using, and leaves that one running", async () => {
  await using dir = await tempDir();
  const cp = fakeControlPlane();
  const first = deps(cp.start);
  const stop = new AbortController();
  const done = runUp({ dataDir: dir.path, port: 0, node: false }, first.d, stop.signal);
  await first.ready;
  const second = deps(cp.start);
  await assert.rejects(
    runUp({ dataDir: dir.path, port: 0, node: false }, second.d, new AbortController().signal),
    (e) => {
      assert.ok(e instanceof CliError);
      assert.match(e.message, new RegExp(`in use by another \\./skiff up \\(pid ${Deno.pid}\\)`));
      return true;
    },
  );
  assert.equal(cp.calls.length, 1);
  assert.equal(await (await fetch(first.out[0].slice("server: ".length))).text(), `{"status":{"token":"t"}}`);
  stop.abort();
  assert.equal(await done, 0);
});

Deno.test("runUp() turns a port in use into a message saying how to pick another", async () => {
  await using dir = await tempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { d } = deps(fakeControlPlane().start);
  await assert.rejects(
    runUp({ dataDir: dir.path, port: taken.addr.port, node: false }, d, new AbortController().signal),
    new RegExp(
      `port ${taken.addr.port} on 127\\.0\\.0\\.1 is in use; pass --port N \\(--port 0 picks a free port\\)`,
    ),
  );
  assert.equal(await Deno.readTextFile(`${dir.path}/${LOCK_FILE}`), "");
});

Deno.test("runUp() starts the node agent only without --no-node, and stops its children on abort", async () => {
  await using dir = await tempDir();
  const cp = fakeControlPlane();
  let agent: NodeAgentContext | undefined;
  let pid = 0;
  const { d, ready } = deps(cp.start, {
    startNodeAgent(ctx) {
      agent = ctx;
      pid = ctx.supervisor.spawn({ name: "node", cmd: "sh", args: ["-c", "sleep 300 & wait"] }).pid;
      return Promise.resolve();
    },
  });
  const stop = new AbortController();
  const done = runUp({ dataDir: dir.path, port: 0, node: true }, d, stop.signal);
  await ready;
  assert.equal(agent?.kubeconfig, `${dir.path}/node.kubeconfig`, "the node runs with its own credential");
  assert.match(agent?.server ?? "", /^http:\/\/127\.0\.0\.1:/);
  await waitFor(() => groupMembers(pid).length === 2);
  stop.abort();
  await done;
  await waitFor(() => groupMembers(pid).length === 0);

  const noNode = deps(cp.start, { startNodeAgent: () => Promise.reject(new Error("must not be called")) });
  const stop2 = new AbortController();
  const done2 = runUp({ dataDir: dir.path, port: 0, node: false }, noNode.d, stop2.signal);
  await noNode.ready;
  stop2.abort();
  assert.equal(await done2, 0);
});

Deno.test("runUp() cleans up the control plane, children and lock when starting the node agent fails", async () => {
  await using dir = await tempDir();
  const cp = fakeControlPlane();
  let pid = 0;
  const { d, out } = deps(cp.start, {
    startNodeAgent(ctx) {
      pid = ctx.supervisor.spawn({ name: "node", cmd: "sleep", args: ["300"] }).pid;
      return Promise.reject(new Error("agent failed"));
    },
  });
  await assert.rejects(
    runUp({ dataDir: dir.path, port: 0, node: true }, d, new AbortController().signal),
    /agent failed/,
  );
  assert.deepEqual(out, []);
  assert.equal(cp.isOpen(), false);
  assert.deepEqual(groupMembers(pid), []);
  assert.equal(await Deno.readTextFile(`${dir.path}/${LOCK_FILE}`), "");
});

