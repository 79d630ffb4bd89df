import assert from "node:assert/strict";
import { Client, R } from "../../control/api/client.ts";
import { startControlPlane } from "../../control/mod.ts";
import { ObjectManager } from "./object_manager.ts";

async function cluster() {
  const dir = await Deno.makeTempDir();
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  return {
    client: new Client({ server: cp.url }),
    async [Symbol.asyncDispose]() {
      await cp.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const configMap = (name: string, v: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default" },
  data: { v },
});

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
}

Deno.test("ObjectManager watches each object pods use by name, reports changes, and stops when no pod uses it", async () => {
  await using c = await cluster();
  await c.client.create(R.configmaps, configMap("a", "1"));
  await c.client.create(R.configmaps, configMap("unused", "x"));
  const changes: string[] = [];
  const m = new ObjectManager(c.client, R.configmaps, {
    onChange: (ns, name) => changes.push(`${ns}/${name}`),
  });
  try {
    m.registerPod("p1", "default", ["a", "later"]);
    m.registerPod("p2", "default", ["a"]);
    assert.deepEqual(await m.waitSynced("default", ["a", "later"]), []);
    assert.equal(m.get("default", "a")?.data.v, "1");
    assert.equal(m.get("default", "later"), undefined, "missing for now");
    assert.equal(m.get("default", "unused"), undefined, "only what pods use is read");
    assert.deepEqual(m.watched.sort(), ["default/a", "default/later"]);

    await c.client.patch(R.configmaps, "default", "a", { data: { v: "2" } });
    await c.client.create(R.configmaps, configMap("later", "now"));
    await until(
      "the update and the new object",
      () => m.get("default", "a")?.data.v === "2" && !!m.get("default", "later"),
    );
    assert.ok(changes.includes("default/later"));

    m.registerPod("p1", "default", ["a"]); // p1 no longer uses `later`
    assert.deepEqual(m.watched, ["default/a"]);
    m.unregisterPod("p1");
    assert.deepEqual(m.watched, ["default/a"], "p2 still uses it");
    m.unregisterPod("p2");
    assert.deepEqual(m.watched, []);
  } finally {
    await m.stop();
  }
});

Deno.test("ObjectManager.waitSynced() gives up after its timeout and names what is not listed yet", async () => {
  // A server that refuses the list (the node authorizer has not seen the pod yet, say).
  const hung = new Client({
    server: "http://127.0.0.1:1",
    fetch: () =>
      Promise.resolve(
        Response.json({ kind: "Status", code: 403, reason: "Forbidden", message: "no" }, { status: 403 }),
      ),
  });
  const m = new ObjectManager(hung, R.secrets, { syncTimeoutMs: 50 });
  m.registerPod("p", "default", ["s"]);
  assert.deepEqual(await m.waitSynced("default", ["s", "not-registered"]), ["s"]);
  await m.stop();
});
