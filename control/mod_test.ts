import assert from "node:assert/strict";
import { startControlPlane } from "./mod.ts";

Deno.test("close() ends open watches instead of waiting for them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-close-" });
  try {
    const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0 });
    const res = await fetch(`${cp.url}/api/v1/configmaps?watch=true`);
    assert.equal(res.status, 200);
    // The watcher reads as a client does, so it sees its stream end.
    const reading = (async () => {
      const body = res.body!.getReader();
      while (!(await body.read()).done) { /* events */ }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      cp.close().then(() => "closed"),
      new Promise((r) => timer = setTimeout(() => r("still waiting after 5 s"), 5_000)),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, "closed");
    await reading;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
