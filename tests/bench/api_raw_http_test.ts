import assert from "node:assert/strict";
import { encodeRequest, RawHttp } from "./api_raw_http.ts";

/** A server that echoes the body's length, stamps a header, and counts connections. */
function echoServer(handler?: (req: Request, body: string) => Response | undefined) {
  let connections = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const body = await req.text();
    return handler?.(req, body) ??
      new Response(
        JSON.stringify({ method: req.method, path: new URL(req.url).pathname, length: body.length }),
        {
          status: 201,
          headers: { "content-type": "application/json", "X-Bench-Handler": "1 2" },
        },
      );
  });
  const counting = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  // A TCP proxy in front of the server, counting the connections the client opens.
  (async () => {
    for await (const conn of counting) {
      connections++;
      Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }).then((up) => {
        conn.readable.pipeTo(up.writable).catch(() => {});
        up.readable.pipeTo(conn.writable).catch(() => {});
      });
    }
  })();
  return {
    port: counting.addr.port,
    connections: () => connections,
    async [Symbol.asyncDispose]() {
      counting.close();
      await server.shutdown();
    },
  };
}

Deno.test("RawHttp sends encoded requests on kept-alive connections and reads whole responses", async () => {
  await using server = echoServer();
  const http = new RawHttp("127.0.0.1", server.port);
  try {
    const host = `127.0.0.1:${server.port}`;
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ n: i, pad: "é".repeat(i * 100) });
      const res = await http.send(encodeRequest("POST", "/api/x", host, body), 201, "x-bench-handler");
      assert.equal(res.status, 201);
      assert.equal(res.header, "1 2");
      assert.equal(res.body, undefined);
    }
    // One request at a time: one connection. Concurrent requests open more.
    assert.equal(server.connections(), 1);
    const req = encodeRequest("PUT", "/api/y", host, "{}");
    await Promise.all([http.send(req, 201), http.send(req, 201), http.send(req, 201)]);
    assert.equal(server.connections(), 3);
  } finally {
    http.close();
  }
});

Deno.test("RawHttp returns the body of an unexpected status, and large bodies whole", async () => {
  const big = "x".repeat(200_000);
  await using server = echoServer((req) =>
    new URL(req.url).pathname === "/big"
      ? new Response(big, { status: 200 })
      : new Response('{"kind":"Status","code":409}', { status: 409 })
  );
  const http = new RawHttp("127.0.0.1", server.port);
  try {
    const host = `127.0.0.1:${server.port}`;
    const conflict = await http.send(encodeRequest("POST", "/c", host, "{}"), 201, "x-bench-handler");
    assert.equal(conflict.status, 409);
    assert.equal(conflict.header, null);
    assert.equal(conflict.body, '{"kind":"Status","code":409}');
    const res = await http.send(encodeRequest("POST", "/big", host, "{}"), 201);
    assert.equal(res.status, 200);
    assert.equal(res.body?.length, big.length);
    // The connection is still usable after a response larger than its buffer.
    assert.equal((await http.send(encodeRequest("POST", "/c", host, "{}"), 409)).status, 409);
  } finally {
    http.close();
  }
});

Deno.test("RawHttp sends again on a new connection when the server closed a kept-alive one", async () => {
  // A server that answers one request per connection, then closes it (without saying so).
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  let served = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf);
      served++;
      await conn.write(new TextEncoder().encode("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"));
      conn.close();
    }
  })();
  const http = new RawHttp("127.0.0.1", listener.addr.port);
  try {
    const req = encodeRequest("POST", "/", `127.0.0.1:${listener.addr.port}`, "{}");
    assert.equal((await http.send(req, 201)).status, 201);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await http.send(req, 201)).status, 201);
    assert.equal(served, 2);
  } finally {
    http.close();
    listener.close();
    await serving.catch(() => {});
  }
});
