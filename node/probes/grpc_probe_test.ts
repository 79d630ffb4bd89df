import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { grpcProbe, readAnswer } from "./grpc_probe.ts";
import { runProbe } from "./prober.ts";

/** A gRPC server on 127.0.0.1 whose `Health/Check` answers with `answer(service)`. */
async function healthServer(
  answer: (service: string) => { status: number } | { code: number; message: string } | "hang",
) {
  const calls: { path: string; service: string; userAgent: string }[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => {}); // the prober's reset once it has its answer
  });
  server.on("sessionError", () => {});
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      // HealthCheckRequest { string service = 1; }: the field's tag, its length, its bytes.
      const service = body.length > 7 ? body.subarray(7, 7 + body[6]).toString() : "";
      calls.push({ path: String(headers[":path"]), service, userAgent: String(headers["user-agent"]) });
      const a = headers[":path"] === "/grpc.health.v1.Health/Check"
        ? answer(service)
        : { code: 12, message: `unknown service ${headers[":path"]}` };
      if (a === "hang") return;
      if ("code" in a) {
        stream.respond({
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(a.code),
          "grpc-message": encodeURIComponent(a.message),
        }, { endStream: true });
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, a.status]));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // Sessions a hanging answer left open.
        for (const s of sessions) s.destroy();
      }),
  };
}
Deno.test("a grpc probe passes on SERVING and fails on every other status, in upstream's words", async () => {
  const statuses: Record<string, number> = { "": 1, down: 2, starting: 0, odd: 3 };
  const s = await healthServer((service) =>
    service in statuses ? { status: statuses[service] } : { code: 5, message: "unknown service" }
  );
  try {
    assert.deepEqual(await grpcProbe("127.0.0.1", s.port, "", 1000), {
      result: "success",
      message: "service healthy",
    });
    assert.deepEqual(s.calls[0], {
      path: "/grpc.health.v1.Health/Check",
      service: "",
      userAgent: "kube-probe/1.32",
    });
    assert.deepEqual(await grpcProbe("127.0.0.1", s.port, "down", 1000), {
      result: "failure",
      message: 'service unhealthy (responded with "NOT_SERVING")',
    });
    assert.equal(s.calls[1].service, "down");
    assert.equal(
      (await grpcProbe("127.0.0.1", s.port, "starting", 1000)).message,
      'service unhealthy (responded with "UNKNOWN")',
    );
    assert.equal(
      (await grpcProbe("127.0.0.1", s.port, "odd", 1000)).message,
      'service unhealthy (responded with "SERVICE_UNKNOWN")',
    );
    assert.deepEqual(await grpcProbe("127.0.0.1", s.port, "nope", 1000), {
      result: "failure",
      message: "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service",
    });
    // Through the prober, as a pod's probe names it.
    assert.deepEqual(
      await runProbe({ grpc: { port: s.port, service: "down" } }, {
        podIP: "127.0.0.1",
        container: { name: "app" },
      }),
      { result: "failure", message: 'service unhealthy (responded with "NOT_SERVING")' },
    );
  } finally {
    await s.close();
  }
});

Deno.test("a grpc probe of a server without the health service says so", async () => {
  const s = await healthServer(() => ({ code: 12, message: "unknown service grpc.health.v1.Health" }));
  try {
    assert.deepEqual(await grpcProbe("127.0.0.1", s.port, "", 1000), {
      result: "failure",
      message: "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " +
        "unknown service grpc.health.v1.Health",
    });
  } finally {
    await s.close();
  }
});

Deno.test("a grpc probe fails on a refused connection, a silent server and HTTP/1", async () => {
  const s = await healthServer(() => "hang");
  try {
    const t0 = Date.now();
    assert.deepEqual(await grpcProbe("127.0.0.1", s.port, "", 1000), {
      result: "failure",
      message: "timeout: health rpc did not complete within 1s",
    });
    assert.ok(Date.now() - t0 >= 950, "waits for the probe's timeout");
  } finally {
    await s.close();
  }

  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const refused = await grpcProbe("127.0.0.1", port, "", 1000);
  assert.equal(refused.result, "failure");
  const at = `"127.0.0.1:${port}"`;
  assert.match(refused.message, new RegExp(`^error: failed to connect service at ${at}: .*ECONNREFUSED`));

  // An HTTP/1.1 server answers the HTTP/2 preface with an error and closes.
  const http1 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of http1) {
      await conn.read(new Uint8Array(1024)).catch(() => null);
      await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
        .catch(() => {});
      conn.close();
    }
  })();
  try {
    const r = await grpcProbe("127.0.0.1", (http1.addr as Deno.NetAddr).port, "", 1000);
    assert.equal(r.result, "failure");
    assert.match(r.message, /^error: /);
  } finally {
    http1.close();
    await serving;
  }
});

Deno.test("readAnswer() reads HTTP statuses, trailers-only answers and malformed messages as grpc-go", () => {
  const ok = { ":status": 200 };
  assert.deepEqual(readAnswer({ ":status": 404 }, {}, new Uint8Array()), {
    code: 12,
    message: "unexpected HTTP status code received from server: 404",
  });
  assert.equal((readAnswer({ ":status": 503 }, {}, new Uint8Array()) as { code: number }).code, 14);
  const denied = { ...ok, "grpc-status": "7", "grpc-message": "no%20access" };
  assert.deepEqual(readAnswer(denied, {}, new Uint8Array()), {
    code: 7,
    message: "no access",
  });
  assert.equal((readAnswer(ok, {}, new Uint8Array([0, 0, 0, 0, 2, 8, 1])) as { code: number }).code, 13);
  assert.deepEqual(readAnswer(ok, { "grpc-status": "0" }, new Uint8Array([1, 0, 0, 0, 2, 8, 1])), {
    code: 13,
    message: "server sent a compressed message it was not asked for",
  });
  assert.deepEqual(readAnswer(ok, { "grpc-status": "0" }, new Uint8Array([0, 0, 0, 0, 9, 8, 1])), {
    code: 13,
    message: "server sent a truncated response message",
  });
  // An empty message is the default status, UNKNOWN.
  assert.deepEqual(readAnswer(ok, { "grpc-status": "0" }, new Uint8Array([0, 0, 0, 0, 0])), {
    status: "UNKNOWN",
  });
  assert.deepEqual(readAnswer(ok, { "grpc-status": "0" }, new Uint8Array([0, 0, 0, 0, 2, 8, 1])), {
    status: "SERVING",
  });
});
