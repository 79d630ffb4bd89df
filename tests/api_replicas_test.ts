/**
 * Several API server processes share one KV file: each serves the whole API, a watch on one sees
 * writes made through the other, and concurrent read-modify-writes through both lose nothing.
 */
import assert from "node:assert/strict";
import { kubeconfigFetch, ROOT, startClusterProcess, tempDir } from "./harness.ts";

async function startReplica(dataDir: string) {
  const child = new Deno.Command(`${ROOT}/skiff`, {
    args: ["apiserver", "--data-dir", dataDir, "--port", "0"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`replica exited before it was ready: ${out}`);
    out += value;
  }
  const url = out.match(/server: (\S+)/)![1];
  return {
    url,
    async close() {
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      const status = await child.status;
      assert.equal(status.code, 0);
    },
  };
}

Deno.test("two API server replicas on one KV file serve one consistent cluster", async () => {
  await using dir = await tempDir("skiff-replicas-");
  await using a = await startClusterProcess({ dataDir: dir.path });
  const b = await startReplica(dir.path);
  const authed = await kubeconfigFetch(a.kubeconfig);
  const fetch = authed.fetch;
  try {
    const cm = "/api/v1/namespaces/default/configmaps";
    // A watch on replica A sees an object created through replica B.
    const rv = (await (await fetch(a.url + cm)).json()).metadata.resourceVersion;
    const ac = new AbortController();
    const watch = await fetch(`${a.url}${cm}?watch=true&resourceVersion=${rv}`, { signal: ac.signal });
    const reader = watch.body!.pipeThrough(new TextDecoderStream()).getReader();
    const created = await fetch(b.url + cm, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ metadata: { name: "counter" }, data: { n: "0" } }),
    });
    assert.equal(created.status, 201);
    await created.body?.cancel();
    let buf = "";
    while (!buf.includes("\n")) buf += (await reader.read()).value ?? "";
    const ev = JSON.parse(buf.split("\n")[0]);
    assert.equal(ev.type, "ADDED");
    assert.equal(ev.object.metadata.name, "counter");
    ac.abort();
    await reader.cancel().catch(() => {});

    // Read-modify-write increments through both replicas, retrying on 409: none is lost.
    const increment = async (url: string) => {
      for (;;) {
        const cur = await (await fetch(`${url}${cm}/counter`)).json();
        cur.data.n = String(Number(cur.data.n) + 1);
        const res = await fetch(`${url}${cm}/counter`, {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(cur),
        });
        await res.body?.cancel();
        if (res.status === 200) return;
        assert.equal(res.status, 409);
      }
    };
    await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 ? a.url : b.url)));
    const final = await (await fetch(`${a.url}${cm}/counter`)).json();
    assert.equal(final.data.n, "40");
  } finally {
    authed.close();
    await b.close();
  }
});
