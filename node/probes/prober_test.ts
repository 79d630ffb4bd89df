import assert from "node:assert/strict";
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import { ProberManager } from "./prober_manager.ts";
import { resolvePort } from "./endpoint.ts";
import { runProbe } from "./prober.ts";

function server(handler: (req: Request) => Response) {
  const ready = Promise.withResolvers<number>();
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) }, handler);
  return { s, port: ready.promise };
}

const container = (port: number): Container => ({
  name: "app",
  ports: [{ name: "http", containerPort: port }],
});

Deno.test("runProbe() passes 2xx/3xx httpGet answers and fails others with upstream's message", async () => {
  const { s, port } = server((req) =>
    new Response("", { status: new URL(req.url).pathname === "/ok" ? 200 : 503 })
  );
  try {
    const p = await port;
    const c = container(p);
    assert.equal(
      (await runProbe({ httpGet: { path: "/ok", port: "http" } }, { podIP: "127.0.0.1", container: c }))
        .result,
      "success",
    );
    assert.deepEqual(
      await runProbe({ httpGet: { path: "/bad", port: p } }, { podIP: "127.0.0.1", container: c }),
      {
        result: "failure",
        message: "HTTP probe failed with statuscode: 503",
      },
    );
  } finally {
    await s.shutdown();
  }
});

Deno.test("runProbe() checks tcpSocket and reports refused connections as Go does", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const c = container(port);
  assert.equal(
    (await runProbe({ tcpSocket: { port } }, { podIP: "127.0.0.1", container: c })).result,
    "success",
  );
  l.close();
  assert.deepEqual(await runProbe({ tcpSocket: { port } }, { podIP: "127.0.0.1", container: c }), {
    result: "failure",
    message: `dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
  assert.match(
    (await runProbe({ exec: { command: ["true"] } }, { podIP: "x", container: c })).message,
    /not supported/,
  );
  assert.equal(resolvePort("nope", c), undefined);
});

Deno.test("ProberManager flips liveness after failureThreshold failures and reports it once", async () => {
  let healthy = true;
  const { s, port } = server(() => new Response("", { status: healthy ? 200 : 500 }));
  const changes: string[] = [];
  const events: string[] = [];
  const pm = new ProberManager({
    onChange: (uid) => changes.push(uid),
    event: (_p, _t, reason, msg) => events.push(`${reason}: ${msg}`),
  });
  try {
    const p = await port;
    const pod: Pod = {
      metadata: { uid: "u1", name: "web", namespace: "default" },
      spec: {
        containers: [{
          ...container(p),
          livenessProbe: { httpGet: { path: "/", port: p }, periodSeconds: 1, failureThreshold: 2 },
          readinessProbe: { tcpSocket: { port: p }, periodSeconds: 1 },
        }],
      },
    };
    pm.update(pod, "127.0.0.1", [{ id: "c1", name: "app", startedAt: Date.now() }]);
    assert.equal(pm.readiness.get("c1"), false, "not ready before the first success");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pm.readiness.get("c1"), true);
    healthy = false;
    while (!pm.livenessFailed.has("c1")) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(changes, ["u1", "u1"], "ready, then liveness failed");
    assert.equal(events.filter((e) => e.startsWith("Unhealthy: Liveness probe failed")).length, 2);
    pm.update(pod, "127.0.0.1", []);
    assert.equal(pm.livenessFailed.has("c1"), false, "forgotten with its container");
  } finally {
    pm.close();
    await s.shutdown();
  }
});
