import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { chooseContainer, nodeQuery, parseLogOptions } from "./pod_log.ts";

const pod = (containers: string[], init: string[] = []) => ({
  metadata: { name: "web" },
  spec: { containers: containers.map((name) => ({ name })), initContainers: init.map((name) => ({ name })) },
});

Deno.test("chooseContainer() defaults to the only container and names the choices otherwise", () => {
  assert.equal(chooseContainer(pod(["app"]), ""), "app");
  assert.throws(
    () => chooseContainer(pod(["a", "b"], ["i"]), ""),
    (e) =>
      e instanceof ApiError && e.code === 400 &&
      e.message ===
        "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]",
  );
  assert.equal(chooseContainer(pod(["a", "b"], ["i"]), "i"), "i");
  assert.throws(() => chooseContainer(pod(["a"]), "zzz"), /container zzz is not valid for pod web/);
});

Deno.test("parseLogOptions() validates as upstream's ValidatePodLogOptions", () => {
  const ok = parseLogOptions(
    new URLSearchParams("follow=true&tailLines=10&timestamps=true&limitBytes=5"),
    "web",
  );
  assert.deepEqual(nodeQuery(ok), "?follow=true&timestamps=true&tailLines=10&limitBytes=5");
  for (
    const q of [
      "tailLines=-1",
      "limitBytes=0",
      "sinceSeconds=0",
      "sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z",
      "tailLines=x",
    ]
  ) {
    assert.throws(
      () => parseLogOptions(new URLSearchParams(q), "web"),
      (e) => e instanceof ApiError && e.code === 422,
      q,
    );
  }
});
