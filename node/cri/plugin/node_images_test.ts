import assert from "node:assert/strict";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import type { ImageStore, StoredImage } from "../../images/image_store.ts";
import { FS_TOPDIR_FL, inodeFlags } from "../../images/top_dir.ts";
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

/** A store of one image whose only layer is `layer` (a directory), under `id`. */
function oneImageStore(layer: string) {
  let img: StoredImage | undefined;
  const put = (id: string) => {
    img = {
      id,
      ref: `busybox@${id}`,
      repoTags: [],
      repoDigests: [],
      size: 0,
      config: { config: { User: "" } },
      layers: [`sha256:${id}`],
      lastUsed: 0,
    } as unknown as StoredImage;
  };
  const store = {
    lookup: (name: string) => (img && (name === "busybox" || name === img.id) ? img : undefined),
    list: () => (img ? [img] : []),
    touch() {},
    layerPath: () => layer,
    layersDir: layer,
  } as unknown as ImageStore;
  return { store, put, remove: () => (img = undefined) };
}

Deno.test("node-images resolve-image reads an image's passwd once, again for a re-pulled image, never for a removed one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/etc`);
    await Deno.writeTextFile(`${dir}/etc/passwd`, "root:x:0:0::/root:/bin/sh\n");
    const s = oneImageStore(dir);
    const f = nodeImages({
      images: s.store,
      ns: {} as MountNamespace,
      containers: `${dir}/c`,
      exits: `${dir}/e`,
      rootfsMode: "overlay",
    });
    const resolve = () => Promise.resolve(f["resolve-image"](["busybox"], undefined));
    s.put("sha256:a");
    const first = await resolve();
    assert.deepEqual(first, {
      id: "sha256:a",
      ref: "busybox@sha256:a",
      config: '{"User":""}',
      passwd: "root:x:0:0::/root:/bin/sh\n",
      group: "",
    });
    // Layers never change: the file is not read again for the same stored image.
    await Deno.writeTextFile(`${dir}/etc/passwd`, "root:x:0:0::/root:/bin/ash\n");
    assert.deepEqual(await resolve(), first);
    s.put("sha256:a"); // pulled again: a new stored image
    assert.equal(((await resolve()) as { passwd: string }).passwd, "root:x:0:0::/root:/bin/ash\n");
    s.remove();
    await refused(resolve(), "not-found", /not present on this node/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("node-images prepare-bundle makes the bundle (from the directories made ahead), mounts its rootfs, marks the containers directory a top directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/layer`);
    const s = oneImageStore(`${dir}/layer`);
    s.put("sha256:a");
    const mounts: unknown[] = [];
    const ns = { mount: (m: unknown) => void mounts.push(m) } as unknown as MountNamespace;
    const containers = `${dir}/containers`;
    const f = nodeImages({ images: s.store, ns, containers, exits: `${dir}/e`, rootfsMode: "overlay" });
    const config = JSON.stringify({ root: { path: `${containers}/c1/rootfs` } });
    assert.equal(await f["prepare-bundle"](["c1", "sha256:a", config], undefined), `${containers}/c1`);
    for (const d of ["rootfs", "upper", "work", "persist"]) {
      assert.ok(Deno.statSync(`${containers}/c1/${d}`).isDirectory);
    }
    assert.equal(Deno.readTextFileSync(`${containers}/c1/config.json`), config);
    assert.equal(Deno.readTextFileSync(`${containers}/c1/termination-log`), "");
    assert.deepEqual(mounts, [{
      source: "overlay",
      target: `${containers}/c1/rootfs`,
      fstype: "overlay",
      data: `lowerdir=${dir}/layer,upperdir=${containers}/c1/upper,workdir=${containers}/c1/work`,
    }]);
    // Repeated: the bundle exists, so the mount table decides (this fake mounts nothing).
    await f["prepare-bundle"](["c1", "sha256:a", config], undefined);
    assert.equal(mounts.length, 2);
    // The next bundle's directories were made meanwhile: the next new bundle is that one, renamed.
    const spares = () =>
      [...Deno.readDirSync(containers)].map((e) => e.name).filter((n) => n.startsWith(".spare-"));
    const [spare] = spares();
    assert.equal(spares().length, 1);
    const ino = Deno.statSync(`${containers}/${spare}`).ino;
    const config2 = JSON.stringify({ root: { path: `${containers}/c2/rootfs` } });
    await f["prepare-bundle"](["c2", "sha256:a", config2], undefined);
    assert.equal(Deno.statSync(`${containers}/c2`).ino, ino);
    for (const d of ["rootfs", "upper", "work", "persist"]) {
      assert.ok(Deno.statSync(`${containers}/c2/${d}`).isDirectory);
    }
    assert.equal(Deno.readTextFileSync(`${containers}/c2/config.json`), config2);
    assert.equal(mounts.length, 3);
    assert.deepEqual(spares().length, 1);
    assert.notEqual(spares()[0], spare);
    // A spare that is gone: the bundle is made as it is.
    Deno.removeSync(`${containers}/${spares()[0]}`, { recursive: true });
    const config3 = JSON.stringify({ root: { path: `${containers}/c3/rootfs` } });
    await f["prepare-bundle"](["c3", "sha256:a", config3], undefined);
    for (const d of ["rootfs", "upper", "work", "persist"]) {
      assert.ok(Deno.statSync(`${containers}/c3/${d}`).isDirectory);
    }
    const flags = inodeFlags(containers);
    if (flags !== undefined) assert.ok(flags & FS_TOPDIR_FL, "the containers directory is a top directory");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
