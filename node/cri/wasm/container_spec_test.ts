import assert from "node:assert/strict";
import type { PreparedComponent } from "../../../wasm/component_cache.ts";
import type { ContainerConfig } from "../api.ts";
import { containerSpec } from "./container_spec.ts";

const component = (kind: "proxy" | "command") =>
  ({
    digest: "sha256:x",
    dir: "/c",
    glue: "g.js",
    coreModules: [],
    kind,
    imports: [],
    exports: [],
  }) as PreparedComponent;

function config(extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    metadata: { name: "web", attempt: 0 },
    image: { image: "r/i@sha256:1" },
    command: [],
    args: ["--flag"],
    workingDir: "",
    envs: [{ key: "A", value: "1" }],
    mounts: [{ containerPath: "/data", hostPath: "/v/data", readonly: true }],
    labels: {},
    annotations: {},
    logPath: "web/0.log",
    ports: [],
    resources: {},
    stdin: false,
    tty: false,
    ...extra,
  };
}

Deno.test("containerSpec() serves a proxy on its TCP ports of the pod IP, or on 8080", () => {
  const withPorts = containerSpec(
    "id",
    config({ ports: [{ containerPort: 80, protocol: "TCP" }, { containerPort: 53, protocol: "UDP" }] }),
    component("proxy"),
    "198.18.0.5",
  );
  assert.deepEqual(withPorts.listen, [{ ip: "198.18.0.5", port: 80 }]);
  assert.deepEqual(containerSpec("id", config(), component("proxy"), "198.18.0.5").listen, [{
    ip: "198.18.0.5",
    port: 8080,
  }]);
  assert.equal(containerSpec("id", config(), component("command"), "198.18.0.5").listen, undefined);
});

Deno.test("containerSpec() builds argv, env, mounts and the memory cap", () => {
  const s = containerSpec("id", config(), component("command"), "198.18.0.5");
  assert.deepEqual(s.args, ["web", "--flag"]);
  assert.deepEqual(s.env, [["A", "1"]]);
  assert.deepEqual(s.mounts, [{ hostPath: "/v/data", guestPath: "/data", readOnly: true }]);
  assert.equal(s.memoryLimitBytes, 256 * 1024 * 1024);
  const c = containerSpec(
    "id",
    config({ command: ["run"], resources: { memoryLimitInBytes: 1024 } }),
    component("command"),
    "x",
  );
  assert.deepEqual(c.args, ["run", "--flag"]);
  assert.equal(c.memoryLimitBytes, 1024);
});
