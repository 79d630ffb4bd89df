import assert from "node:assert/strict";
import { type PluginObject, PluginCallError } from "../../control/api/plugins.ts";
import { buildPlugin } from "./build.ts";
import { isPluginFailure } from "./failures.ts";
import { PluginHost } from "./server.ts";

const HOST_LOCAL = new URL("../network/builtin/host_local/plugin.ts", import.meta.url).pathname;

Deno.test("isPluginFailure() counts traps, deadlines, memory, capabilities and garbage, not error answers", () => {
  for (const r of ["Trap", "Timeout", "MemoryLimit", "CapabilityDenied", "MalformedResult"] as const) {
    assert.ok(isPluginFailure(r), r);
  }
  assert.ok(!isPluginFailure("PluginError"));
});

Deno.test("an error answer is not recorded as the plugin's lastError; a failure is", async () => {
  const { bytes } = await buildPlugin({ kind: "ipam", source: HOST_LOCAL });
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-failures-" });
  try {
    await using host = new PluginHost({
      dataDir,
      pull: () => Promise.resolve({ digest: "sha256:test", bytes }),
      accepts: () => true,
      log: () => {},
    });
    const plugin = (name: string, grants: PluginObject["spec"]["grants"]): PluginObject => ({
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name, generation: 1 },
      spec: { kind: "ipam", image: "test:1", grants, timeoutSeconds: 5 },
    });
    await host.apply(plugin("answers", [{ capability: "state" }]));
    await host.apply(plugin("ungranted", []));
    const attachment = (config: unknown) => ({
      containerId: "c1",
      netns: "/var/run/netns/x",
      ifname: "eth0",
      args: [],
      config: JSON.stringify(config),
      prevResult: undefined,
    });
    const lastError = (name: string) => host.list().find((p) => p.name === name)?.lastError;

    // A CNI error answer (no subnet): the caller gets PluginError, the status stays clean.
    const answer = await host.call("answers", "add", [attachment({ ipam: {} })]).catch((e) => e);
    assert.ok(answer instanceof PluginCallError && answer.reason === "PluginError", String(answer));
    assert.match(answer.message, /no ipam\.ranges/);
    assert.equal(lastError("answers"), undefined);

    // The same call needing an ungranted capability is a failure: recorded.
    const config = { ipam: { ranges: [[{ subnet: "198.18.250.0/24" }]] } };
    const failure = await host.call("ungranted", "add", [attachment(config)]).catch((e) => e);
    assert.ok(failure instanceof PluginCallError && failure.reason === "CapabilityDenied", String(failure));
    assert.equal(lastError("ungranted")?.reason, "CapabilityDenied");
    assert.equal(lastError("ungranted")?.count, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
