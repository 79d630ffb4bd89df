import assert from "node:assert/strict";
import { PluginHostCaller } from "../../control/api/plugin_channel.ts";
import { PluginHost } from "./server.ts";

/** A plugin host with no plugins, its HTTP API on a free port, with or without its channel. */
async function host(opts: { token?: string; channel: boolean }) {
  const dir = await Deno.makeTempDir({ prefix: "skiff-channel-" });
  const h = new PluginHost({ dataDir: dir, token: opts.token, pull: () => Promise.reject(new Error("no images here")), log: () => {} });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, h.handler);
  if (opts.channel) h.listenChannel({ hostname: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await h[Symbol.asyncDispose]();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const cycle = { plugins: [], pod: {}, nodes: [], session: "s" };

Deno.test("PluginHostCaller sends calls over the host's channel and gets what POST would answer", async () => {
  await using h = await host({ channel: true });
  const caller = new PluginHostCaller({ url: h.url });
  try {
    assert.deepEqual(await caller.post("/scheduler/cycle", cycle, 5000), { status: 200, body: { results: {} } });
    // A cached node reference (the node's name) the session does not hold: 409 NodeCacheMiss.
    const miss = await caller.post("/scheduler/cycle", { ...cycle, nodes: ["n1"], session: "unknown" }, 5000);
    assert.equal(miss.status, 409);
    assert.equal((miss.body as { reason: string }).reason, "NodeCacheMiss");
    const bad = await caller.post("/admission/x/validate", { request: {} }, 5000);
    assert.equal(bad.status, 400);
    const lost = await caller.post("/nowhere", {}, 5000);
    assert.equal(lost.status, 404);
    // Concurrent calls share the connection and each gets its own answer.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => caller.post(i % 2 ? "/nowhere" : "/scheduler/cycle", cycle, 5000)));
    assert.deepEqual(many.map((a) => a.status), Array.from({ length: 20 }, (_, i) => i % 2 ? 404 : 200));
    assert.deepEqual(caller.stats, { channel: 24, http: 0 });
  } finally {
    caller.close();
  }
});

Deno.test("PluginHostCaller falls back to HTTP when the host has no channel", async () => {
  await using h = await host({ channel: false });
  const caller = new PluginHostCaller({ url: h.url });
  try {
    assert.deepEqual(await caller.post("/scheduler/cycle", cycle, 5000), { status: 200, body: { results: {} } });
    assert.deepEqual(caller.stats, { channel: 0, http: 1 });
  } finally {
    caller.close();
  }
});

Deno.test("the channel needs the host's bearer token: without it the caller gets HTTP's 401", async () => {
  await using h = await host({ token: "s3cret", channel: true });
  const right = new PluginHostCaller({ url: h.url, token: "s3cret" });
  const wrong = new PluginHostCaller({ url: h.url, token: "guess" });
  try {
    assert.equal((await right.post("/scheduler/cycle", cycle, 5000)).status, 200);
    assert.deepEqual(right.stats, { channel: 1, http: 0 });
    assert.equal((await wrong.post("/scheduler/cycle", cycle, 5000)).status, 401);
    assert.deepEqual(wrong.stats, { channel: 0, http: 1 });
  } finally {
    right.close();
    wrong.close();
  }
});

Deno.test("a connection that presents a wrong token is closed without an answer", async () => {
  await using h = await host({ token: "s3cret", channel: true });
  const { port } = await (await fetch(`${h.url}/channel`, { headers: { Authorization: "Bearer s3cret" } })).json();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`{"token":"guess"}\n{"id":1,"path":"/scheduler/cycle","body":{}}\n`));
    assert.equal(await conn.read(new Uint8Array(1024)), null);
  } finally {
    conn.close();
  }
});

Deno.test("a call whose channel connection breaks before the answer is sent again over HTTP", async () => {
  // A channel port that reads the token and the call, then hangs up without answering.
  const broken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hangUp = (async () => {
    const conn = await broken.accept();
    const buf = new Uint8Array(4096);
    let seen = "";
    while (seen.split("\n").length < 3) {
      const n = await conn.read(buf);
      if (n === null) break;
      seen += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    return seen;
  })();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (req.method === "GET") return Response.json({ port: (broken.addr as Deno.NetAddr).port });
    return Response.json({ results: { over: "http" } });
  });
  const caller = new PluginHostCaller({ url: `http://127.0.0.1:${server.addr.port}` });
  try {
    const answer = await caller.post("/scheduler/cycle", cycle, 5000);
    assert.deepEqual(answer, { status: 200, body: { results: { over: "http" } } });
    assert.match(await hangUp, /"path":"\/scheduler\/cycle"/);
    assert.deepEqual(caller.stats, { channel: 0, http: 1 });
  } finally {
    caller.close();
    broken.close();
    await server.shutdown();
  }
});
