/**
 * The built-in `crun` plugin asks the node's `resolve-image` once per image id (an id names one
 * config and one set of layers), and every time for a reference (a tag may move). Real crun,
 * conmon and busybox.
 */
import assert from "node:assert/strict";
import { testWith } from "../../../tests/harness.ts";
import { busyboxImage, pushImage } from "../../../tests/fixtures/oci/images.ts";
import type { HostCallHandler } from "../../../plugins/host/runner_client.ts";
import { OCI_PREREQUISITES } from "../oci/testing.ts";
import { crunPluginHarness, witContainerConfig, witSandboxConfig } from "./testing.ts";

testWith(
  OCI_PREREQUISITES,
  "the crun plugin resolves an image id once, a reference every time",
  async () => {
    let resolves = 0;
    const count = (h: HostCallHandler): HostCallHandler => (call, context) => {
      if (call.capability === "node-images" && call.fn === "resolve-image") resolves++;
      return h(call, context);
    };
    await using h = await crunPluginHarness({ wrapHostCalls: count });
    const image = (await pushImage(h.registry.host, "once/busybox", "1", await busyboxImage())).reference;
    const id = await h.host.pullImage({ image }) as string;
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const cfg = witSandboxConfig(h.dir, "once");
    const sb = await h.host.runPodSandbox(cfg, "oci") as string;
    const create = (name: string, img: string) =>
      h.host.createContainer(sb, witContainerConfig(name, img, ["sleep", "300"]), cfg);
    await create("a", id);
    await create("b", id);
    assert.equal(resolves, 1, "an image id is resolved once");
    await create("c", image);
    await create("d", image);
    assert.equal(resolves, 3, "a reference is resolved every time");
    await h.host.removePodSandbox(sb);
  },
);
