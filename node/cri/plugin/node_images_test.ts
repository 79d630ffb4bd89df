import assert from "node:assert/strict";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import type { ImageStore } from "../../images/image_store.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import { nodeImages } from "./node_images.ts";

// The bounds are checked before the store or the namespace is touched: an empty store suffices.
const store = { lookup: () => undefined, list: () => [], touch() {} } as unknown as ImageStore;
const fns = nodeImages({
  images: store,
  ns: {} as MountNamespace,
  containers: "/data/oci/containers",
  exits: "/data/oci/exits",
  rootfsMode: "overlay",
});

async function refused(p: Promise<unknown>, tag: string, message: RegExp): Promise<void> {
  await assert.rejects(async () => await p, (e: unknown) => {
    assert.ok(e instanceof HostCallError, String(e));
    assert.equal(e.variant?.tag, tag);
    assert.match(String(e.variant?.val), message);
    return true;
  });
}

Deno.test("node-images refuses container ids that could leave the containers directory", async () => {
  for (const id of ["../etc", "a/b", "", ".hidden", "a..b", 7]) {
    await refused(
      Promise.resolve(fns["prepare-bundle"]([id, "sha256:x", "{}"], undefined)),
      "invalid-argument",
      /is not a container id/,
    );
    await refused(
      Promise.resolve(fns["remove-bundle"]([id], undefined)),
      "invalid-argument",
      /is not a container id/,
    );
  }
});

Deno.test("node-images prepare-bundle wants JSON of at most 1 MiB whose root is the bundle's rootfs", async () => {
  const ok = { root: { path: "/data/oci/containers/c1/rootfs" } };
  await refused(
    Promise.resolve(fns["prepare-bundle"](["c1", "sha256:x", "x".repeat((1 << 20) + 1)], undefined)),
    "invalid-argument",
    /1 MiB/,
  );
  await refused(
    Promise.resolve(fns["prepare-bundle"](["c1", "sha256:x", "{nope"], undefined)),
    "invalid-argument",
    /not JSON/,
  );
  await refused(
    Promise.resolve(
      fns["prepare-bundle"](["c1", "sha256:x", JSON.stringify({ root: { path: "/" } })], undefined),
    ),
    "invalid-argument",
    /root.path must be \/data\/oci\/containers\/c1\/rootfs/,
  );
  await refused(
    Promise.resolve(fns["prepare-bundle"](["c1", "sha256:x", JSON.stringify(ok)], undefined)),
    "not-found",
    /not present/,
  );
  await refused(
    Promise.resolve(fns["resolve-image"](["busybox:1"], undefined)),
    "not-found",
    /not present on this node/,
  );
});
