import assert from "node:assert/strict";
import { exposedPorts, ImageConfigError, mergeEnv, parseImageConfig, processArgs } from "./image_config.ts";

const image = { Entrypoint: ["/entry", "-x"], Cmd: ["serve", "--port=80"] };

Deno.test("processArgs() combines Entrypoint/Cmd with command/args as Kubernetes defines it", () => {
  // The table of "Notes" in the Kubernetes docs (Define a Command and Arguments for a Container).
  assert.deepEqual(
    processArgs(image, [], []),
    ["/entry", "-x", "serve", "--port=80"],
    "neither: Entrypoint + Cmd",
  );
  assert.deepEqual(
    processArgs(image, ["/bin/sh"], []),
    ["/bin/sh"],
    "command only: the image's Cmd is ignored",
  );
  assert.deepEqual(
    processArgs(image, [], ["other"]),
    ["/entry", "-x", "other"],
    "args only: Entrypoint + args",
  );
  assert.deepEqual(
    processArgs(image, ["/bin/sh"], ["-c", "true"]),
    ["/bin/sh", "-c", "true"],
    "both: command + args",
  );
  assert.deepEqual(processArgs({ Cmd: ["/bin/httpd"] }, [], []), ["/bin/httpd"], "no Entrypoint: Cmd alone");
  assert.deepEqual(
    processArgs({ Entrypoint: null, Cmd: null }, [], ["x"]),
    ["x"],
    "args without an Entrypoint",
  );
  assert.deepEqual(processArgs({}, [], []), [], "nothing at all: the caller refuses it");
});

Deno.test("mergeEnv() keeps the image's order and lets the container's variables win", () => {
  assert.deepEqual(
    mergeEnv(["PATH=/bin", "A=image", "EMPTY=", "B=x=y"], [{ key: "A", value: "pod" }, {
      key: "C",
      value: "new",
    }]),
    ["PATH=/bin", "A=pod", "EMPTY=", "B=x=y", "C=new"],
  );
  assert.deepEqual(mergeEnv(undefined, [{ key: "X", value: "1" }]), ["X=1"]);
  assert.deepEqual(mergeEnv(["=broken", "NOEQUALS"], []), [], "entries without a name are dropped");
});

Deno.test("exposedPorts() reads port/protocol keys and skips malformed ones", () => {
  assert.deepEqual(
    exposedPorts({ ExposedPorts: { "8080/tcp": {}, "53/udp": {}, "9000/TCP": {}, "x/tcp": {} } }),
    [
      { port: 8080, protocol: "TCP" },
      { port: 53, protocol: "UDP" },
      { port: 9000, protocol: "TCP" },
    ],
  );
  assert.deepEqual(
    exposedPorts({ ExposedPorts: { "7000": {} } }),
    [{ port: 7000, protocol: "TCP" }],
    "TCP by default",
  );
  assert.deepEqual(exposedPorts({}), []);
});

const enc = new TextEncoder();

Deno.test("parseImageConfig() keeps the run config and diffIDs, and refuses malformed configs", () => {
  const cfg = parseImageConfig(enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: {
      User: "1000:1000",
      Env: ["PATH=/bin"],
      Entrypoint: ["/e"],
      Cmd: null,
      WorkingDir: "/srv",
      StopSignal: "SIGQUIT",
      ExposedPorts: { "80/tcp": {} },
    },
    rootfs: { type: "layers", diff_ids: ["sha256:" + "a".repeat(64)] },
  })));
  assert.equal(cfg.os, "linux");
  assert.deepEqual(cfg.diffIds, ["sha256:" + "a".repeat(64)]);
  assert.equal(cfg.config.User, "1000:1000");
  assert.deepEqual(cfg.config.Entrypoint, ["/e"]);
  assert.equal(cfg.config.Cmd, undefined);
  assert.equal(cfg.config.WorkingDir, "/srv");
  assert.equal(cfg.config.StopSignal, "SIGQUIT");

  assert.throws(() => parseImageConfig(enc.encode("{")), ImageConfigError);
  assert.throws(
    () => parseImageConfig(enc.encode(JSON.stringify({ rootfs: { type: "other" } }))),
    /rootfs.type/,
  );
  assert.throws(
    () =>
      parseImageConfig(
        enc.encode(JSON.stringify({ rootfs: { type: "layers", diff_ids: [] }, config: { Cmd: "sh" } })),
      ),
    /config.Cmd is not a list of strings/,
  );
});
