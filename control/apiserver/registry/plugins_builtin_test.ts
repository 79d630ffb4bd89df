import assert from "node:assert/strict";
import { BUILTIN_PLUGINS, builtinFor, builtinPluginObject } from "../../api/builtin_plugins.ts";
import { validatePlugin } from "./plugins.ts";

Deno.test("validatePlugin() accepts builtin:<name> only for the built-ins, and only with their kind", () => {
  for (const b of BUILTIN_PLUGINS) assert.deepEqual(validatePlugin(builtinPluginObject(b)), [], b.name);
  const plugin = (kind: string, image: string) => ({ metadata: { name: "p" }, spec: { kind, image } });
  const [unknown] = validatePlugin(plugin("network", "builtin:nope"));
  assert.equal(unknown.field, "spec.image");
  assert.match(
    unknown.message ?? "",
    /Unsupported value: "builtin:nope": supported values: "builtin:bridge"/,
  );
  const [wrongKind] = validatePlugin(plugin("ipam", "builtin:bridge"));
  assert.match(wrongKind.message ?? "", /is a network plugin, not ipam/);
  assert.deepEqual(validatePlugin(plugin("ipam", "127.0.0.1:5000/plugins/x:1")), []);
});

Deno.test("builtinFor() resolves only builtin: images of the table", () => {
  assert.equal(builtinFor("builtin:bridge")?.source, "plugins/network/builtin/bridge/plugin.ts");
  assert.equal(builtinFor("builtin:host-local")?.spec.kind, "ipam");
  assert.equal(builtinFor("bridge"), undefined);
  assert.equal(builtinFor("127.0.0.1:5000/builtin:bridge"), undefined);
  for (const b of BUILTIN_PLUGINS) {
    assert.ok(Deno.statSync(new URL(`../../../${b.source}`, import.meta.url)).isFile, b.source);
  }
});
