import assert from "node:assert/strict";
import type { ResourceDef } from "../../api/resource.ts";
import { ApiError } from "../../api/status.ts";
import type { AdmissionAttributes } from "../context.ts";
import { execFields, runtimeProbes } from "./probes.ts";

function attrs(spec: Record<string, unknown>): AdmissionAttributes {
  return {
    operation: "CREATE",
    def: { group: "", plural: "pods" } as ResourceDef,
    object: { metadata: { name: "web" }, spec },
    oldObject: null,
    namespace: "default",
    name: "web",
    subresource: "",
    user: { username: "admin", groups: [] },
    dryRun: false,
  };
}

const execProbe = { exec: { command: ["true"] } };

Deno.test("runtimeProbes refuses exec probes on wasm pods with a message naming the fields", async () => {
  const plugin = runtimeProbes();
  const spec = {
    runtimeClassName: "wasm",
    containers: [{ name: "a", livenessProbe: execProbe, readinessProbe: { tcpSocket: { port: 1 } } }],
  };
  await assert.rejects(
    async () => await plugin.validate!(attrs(spec)),
    (e) =>
      e instanceof ApiError && e.code === 403 &&
      e.message.includes("spec.containers[0].livenessProbe.exec") &&
      e.message.includes("use httpGet or tcpSocket"),
  );
});

Deno.test("runtimeProbes lets other pods and wasm pods without exec through", async () => {
  const plugin = runtimeProbes();
  await plugin.validate!(attrs({ containers: [{ name: "a", livenessProbe: execProbe }] }));
  await plugin.validate!(
    attrs({
      runtimeClassName: "wasm",
      containers: [{ name: "a", livenessProbe: { httpGet: { port: 80 } } }],
    }),
  );
});

Deno.test("runtimeProbes resolves RuntimeClass names to handlers", async () => {
  const plugin = runtimeProbes((name) => Promise.resolve(name === "fast-wasm" ? "wasm" : undefined));
  await assert.rejects(async () =>
    await plugin.validate!(
      attrs({ runtimeClassName: "fast-wasm", containers: [{ name: "a", startupProbe: execProbe }] }),
    )
  );
});

Deno.test("execFields() finds exec lifecycle hooks and init container probes", () => {
  assert.deepEqual(
    execFields({
      initContainers: [{ name: "i", readinessProbe: execProbe }],
      containers: [{ name: "a", lifecycle: { preStop: execProbe } }],
    }),
    ["spec.initContainers[0].readinessProbe.exec", "spec.containers[0].lifecycle.preStop.exec"],
  );
});
