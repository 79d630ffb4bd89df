import assert from "node:assert/strict";
import { parse } from "yaml";
import { kubeconfigYaml, writeKubeconfig } from "./kubeconfig.ts";

Deno.test("kubeconfigYaml() names cluster skiff, user admin and context skiff, pointing at the server", () => {
  const doc = parse(kubeconfigYaml("http://127.0.0.1:6443"));
  assert.equal(doc["current-context"], "skiff");
  assert.deepEqual(doc.clusters, [{ name: "skiff", cluster: { server: "http://127.0.0.1:6443" } }]);
  assert.deepEqual(doc.users, [{ name: "admin", user: {} }]);
  assert.deepEqual(doc.contexts[0].name, "skiff");
  assert.deepEqual(doc.contexts[0].context.cluster, "skiff");
  assert.deepEqual(doc.contexts[0].context.user, "admin");
});

Deno.test("writeKubeconfig() replaces the file and leaves no temporary file behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-kubeconfig-" });
  try {
    await writeKubeconfig(`${dir}/kubeconfig`, "http://127.0.0.1:1");
    await writeKubeconfig(`${dir}/kubeconfig`, "http://127.0.0.1:2");
    assert.match(await Deno.readTextFile(`${dir}/kubeconfig`), /server: http:\/\/127\.0\.0\.1:2/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["kubeconfig"]);
    assert.equal((await Deno.stat(`${dir}/kubeconfig`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
