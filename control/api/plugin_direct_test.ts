import assert from "node:assert/strict";
import { PluginDirectCaller } from "./plugin_direct.ts";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("PluginDirectCaller sends calls through the plugin host while it cannot reach a runner's socket, then stops trying", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-direct-unit-" });
  const asked: string[] = [];
  const direct = new PluginDirectCaller((path) => {
    asked.push(path);
    // A table naming a socket this process cannot reach (as on another machine or Deno Deploy).
    return Promise.resolve({
      status: 200,
      body: { plugins: { p: { path: `${dir}/gone.sock`, token: "t", runner: "r1" } } },
    });
  });
  try {
    const call = () => direct.post("p", "/admission/p/validate", { request: { uid: "u" } }, "u", 1000);
    assert.equal(await call(), null, "no table yet: through the host");
    // Each failed connect refreshes the table; the next call tries the socket again.
    for (let i = 0; i < 8; i++) {
      await wait(30);
      assert.equal(await call(), null, "the socket cannot be reached: through the host");
    }
    const tables = asked.length;
    assert.ok(tables >= 3 && tables <= 5, `${tables} table requests`);
    for (let i = 0; i < 4; i++) {
      await wait(300);
      assert.equal(await call(), null);
    }
    assert.equal(asked.length, tables, "after three failed connects it stops asking for the table");
    assert.equal(direct.stats.direct, 0);
  } finally {
    direct.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PluginDirectCaller does not use the direct path against a plugin host without /direct (404)", async () => {
  let asked = 0;
  const direct = new PluginDirectCaller(() => {
    asked++;
    return Promise.resolve({ status: 404, body: { kind: "Status", code: 404 } });
  });
  for (let i = 0; i < 3; i++) {
    assert.equal(await direct.post("p", "/admission/p/validate", {}, "u", 1000), null);
    await wait(20);
  }
  assert.equal(asked, 1, "asked once, then off for a minute");
  direct.close();
});

Deno.test("PluginDirectCaller gives up on a runner that never answers, about a second after the call's deadline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-direct-unit-" });
  const path = `${dir}/r1.sock`;
  // A runner that reads every line and answers none (its host failed to kill it).
  const listener = Deno.listen({ transport: "unix", path });
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      void (async () => {
        const buf = new Uint8Array(4096);
        while ((await conn.read(buf).catch(() => null)) !== null);
      })();
    }
  })();
  const direct = new PluginDirectCaller(() =>
    Promise.resolve({ status: 200, body: { plugins: { p: { path, token: "t", runner: "r1" } } } })
  );
  try {
    const call = () => direct.post("p", "/admission/p/validate", { request: { uid: "u" } }, "u", 100);
    assert.equal(await call(), null, "no table yet: through the host");
    for (let i = 0; i < 50 && !direct.runner("p"); i++) await wait(20);
    // The table names the runner now: the call goes to its socket, waits, then gives up.
    const t = performance.now();
    await assert.rejects(call(), /no answer within the call's deadline/);
    const waited = performance.now() - t;
    assert.ok(
      waited >= 1100 && waited < 1600,
      `gave up after ${waited.toFixed(0)} ms (deadline 100 ms + 1 s)`,
    );
  } finally {
    direct.close();
    listener.close();
    await serving;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Deno.remove(dir, { recursive: true });
  }
});
