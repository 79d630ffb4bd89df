import assert from "node:assert/strict";
import { Client } from "../control/api/client.ts";
import { startControlPlane } from "../control/mod.ts";
import { ensureRuntimeClass, missingRuntimeClasses, missingRuntimeClassMessage } from "./runtime_class.ts";

Deno.test("missingRuntimeClasses() names the handlers no RuntimeClass serves, until an admin creates one", async () => {
  const dir = await Deno.makeTempDir();
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  try {
    using client = new Client({ server: cp.url });
    assert.deepEqual(await missingRuntimeClasses(client, ["wasm", "oci"]), ["wasm", "oci"]);
    await ensureRuntimeClass(client, "wasm");
    await ensureRuntimeClass(client, "wasm"); // idempotent
    assert.deepEqual(await missingRuntimeClasses(client, ["wasm", "oci"]), ["oci"]);
    assert.match(missingRuntimeClassMessage("oci"), /no RuntimeClass names the handler "oci"/);
  } finally {
    await cp.close();
    await Deno.remove(dir, { recursive: true });
  }
});
