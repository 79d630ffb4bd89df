import assert from "node:assert/strict";
import { InvalidReferenceError, parseReference, referenceString } from "./reference.ts";

const HEX = "a".repeat(64);

Deno.test("parseReference() puts a bare name under docker.io/library with the latest tag", () => {
  assert.deepEqual(parseReference("nginx"), {
    registry: "docker.io",
    repository: "library/nginx",
    tag: "latest",
  });
  assert.equal(referenceString(parseReference("busybox:1.36")), "docker.io/library/busybox:1.36");
});

Deno.test("parseReference() adds library/ only for docker.io", () => {
  assert.equal(parseReference("team/app").repository, "team/app");
  assert.equal(parseReference("index.docker.io/nginx").repository, "library/nginx");
  assert.equal(parseReference("docker.io/nginx").registry, "docker.io");
  assert.deepEqual(parseReference("127.0.0.1:5000/app"), {
    registry: "127.0.0.1:5000",
    repository: "app",
    tag: "latest",
  });
  assert.deepEqual(parseReference("localhost/app:2"), { registry: "localhost", repository: "app", tag: "2" });
  assert.equal(parseReference("ghcr.io/org/team/app:v1").repository, "org/team/app");
});

Deno.test("parseReference() tells a registry port from a tag", () => {
  assert.deepEqual(parseReference("registry.local:5000/team/app:1.2"), {
    registry: "registry.local:5000",
    repository: "team/app",
    tag: "1.2",
  });
  assert.deepEqual(parseReference("registry.local:5000/team/app"), {
    registry: "registry.local:5000",
    repository: "team/app",
    tag: "latest",
  });
});

Deno.test("parseReference() keeps digests, with or without a tag, and adds no default tag to a pinned reference", () => {
  assert.deepEqual(parseReference(`127.0.0.1:5000/app@sha256:${HEX}`), {
    registry: "127.0.0.1:5000",
    repository: "app",
    digest: `sha256:${HEX}`,
  });
  assert.deepEqual(parseReference(`app:v1@sha256:${HEX}`), {
    registry: "docker.io",
    repository: "library/app",
    tag: "v1",
    digest: `sha256:${HEX}`,
  });
  assert.equal(
    referenceString(parseReference(`app:v1@sha256:${HEX}`)),
    `docker.io/library/app:v1@sha256:${HEX}`,
  );
});

Deno.test("parseReference() refuses what Docker refuses", () => {
  for (
    const bad of [
      "",
      "UPPER",
      "app@sha256:123",
      "app:-bad",
      "a//b",
      "app:" + "x".repeat(200),
      "reg:99999/app",
    ]
  ) {
    assert.throws(() => parseReference(bad), InvalidReferenceError, bad);
  }
});

Deno.test("parseReference() treats an uppercase first component as a registry host", () => {
  assert.deepEqual(parseReference("MyRegistry/app"), {
    registry: "MyRegistry",
    repository: "app",
    tag: "latest",
  });
});
