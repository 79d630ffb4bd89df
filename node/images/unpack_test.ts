import assert from "node:assert/strict";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { testWith } from "../../tests/harness.ts";
import { getXattr } from "../mountns/libc.ts";
import { copyRootfs, readImageFile } from "../cri/oci/rootfs.ts";
import { type TarInput, writeTar } from "./tar.ts";
import { LayerError, safeComponents, unpackLayer } from "./unpack.ts";

/** Whiteouts are 0:0 character devices and opaque directories `trusted.*` xattrs: root only. */
const ROOT = { name: "root", available: () => Deno.uid() === 0, hint: "run as root" };
const root = (name: string, fn: () => Promise<void>) => testWith([ROOT], name, fn);

function stream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
}

async function unpack(entries: TarInput[], dest: string, compress?: "gzip" | "zstd") {
  const tar = writeTar(entries);
  const bytes = compress === "gzip"
    ? new Uint8Array(zlib.gzipSync(tar))
    : compress === "zstd"
    ? new Uint8Array(
      (zlib as unknown as { zstdCompressSync(b: Uint8Array): Uint8Array }).zstdCompressSync(tar),
    )
    : tar;
  await Deno.mkdir(dest, { recursive: true });
  const result = await unpackLayer(stream(bytes), dest);
  return { result, diffId: `sha256:${createHash("sha256").update(tar).digest("hex")}` };
}

function isWhiteout(path: string): boolean {
  const st = Deno.lstatSync(path);
  return st.isCharDevice === true && st.rdev === 0;
}

Deno.test("safeComponents() normalizes archive paths and refuses ..", () => {
  assert.deepEqual(safeComponents("./a//b/./c/"), ["a", "b", "c"]);
  assert.deepEqual(
    safeComponents("/etc/passwd"),
    ["etc", "passwd"],
    "absolute paths are relative to the root",
  );
  assert.throws(() => safeComponents("a/../../x"), LayerError);
  assert.throws(() => safeComponents("../x"), /escapes the root/);
});

root(
  "unpackLayer() writes whiteouts and opaque directories in overlayfs form, in every compression",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "skiff-unpack-" });
    try {
      for (const c of [undefined, "gzip", "zstd"] as const) {
        const dest = `${dir}/${c ?? "plain"}`;
        const { result, diffId } = await unpack(
          [
            { path: "data/", mode: 0o750, uid: 1000, gid: 1000 },
            { path: "data/.wh.gone", data: "" },
            { path: "opq/", mode: 0o755 },
            { path: "opq/.wh..wh..opq", data: "" },
            { path: "opq/kept", data: "k\n", mode: 0o640, uid: 7, gid: 8 },
            { path: "bin/sh", type: "symlink", linkname: "busybox" },
            { path: "bin/busybox", data: "#!\n", mode: 0o4755 },
            { path: "bin/hard", type: "hardlink", linkname: "bin/busybox" },
            { path: "run/fifo", type: "fifo", mode: 0o600 },
          ],
          dest,
          c,
        );
        assert.equal(result.diffId, diffId, "the diffID is the digest of the uncompressed tar");
        assert.equal(result.entries, 9);
        assert.ok(isWhiteout(`${dest}/data/gone`), "data/.wh.gone is a 0:0 character device named gone");
        assert.equal(getXattr(`${dest}/opq`, "trusted.overlay.opaque"), "y");
        assert.throws(() => Deno.lstatSync(`${dest}/opq/.wh..wh..opq`), "the marker itself is not written");
        const kept = Deno.statSync(`${dest}/opq/kept`);
        assert.equal(kept.mode! & 0o7777, 0o640);
        assert.deepEqual([kept.uid, kept.gid], [7, 8]);
        assert.equal(Deno.statSync(`${dest}/data`).mode! & 0o7777, 0o750);
        assert.equal(
          Deno.statSync(`${dest}/bin/busybox`).mode! & 0o7777,
          0o4755,
          "set-id bits survive the chown",
        );
        assert.equal(Deno.readLinkSync(`${dest}/bin/sh`), "busybox");
        assert.equal(Deno.statSync(`${dest}/bin/hard`).ino, Deno.statSync(`${dest}/bin/busybox`).ino);
        assert.ok(Deno.lstatSync(`${dest}/run/fifo`).isFifo);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

root("unpackLayer() refuses escapes through .., symlinks and hard links, and device nodes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-unpack-" });
  const outside = `${dir}/outside`;
  await Deno.mkdir(outside);
  try {
    const cases: [string, TarInput[], RegExp][] = [
      ["dotdot", [{ path: "a/../../outside/x", data: "pwned" }], /escapes the root/],
      [
        "symlink",
        [{ path: "link", type: "symlink", linkname: outside }, { path: "link/x", data: "pwned" }],
        /goes through the symlink "link"/,
      ],
      ["relative-symlink", [{ path: "up", type: "symlink", linkname: "../outside" }, {
        path: "up/x",
        data: "pwned",
      }], /symlink "up"/],
      ["hardlink-out", [{ path: "h", type: "hardlink", linkname: "../outside/x" }], /escapes the root/],
      ["hardlink-missing", [{ path: "h", type: "hardlink", linkname: "etc/shadow" }], /not in this layer/],
      ["char", [{ path: "dev/mem", type: "char", devmajor: 1, devminor: 1 }], /device node/],
      ["block", [{ path: "dev/sda", type: "block", devmajor: 8, devminor: 0 }], /device node/],
      ["whiteout-nothing", [{ path: "d/.wh.", data: "" }], /names nothing/],
    ];
    for (const [name, entries, why] of cases) {
      await assert.rejects(() => unpack(entries, `${dir}/${name}`), (e) => {
        assert.ok(e instanceof LayerError, `${name}: ${e}`);
        assert.match((e as Error).message, why, name);
        return true;
      });
    }
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing was written outside a layer");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

root(
  "the copy fallback and readImageFile() apply whiteouts and opaque directories across layers",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "skiff-unpack-" });
    try {
      await unpack([
        { path: "etc/passwd", data: "root:x:0:0::/:/bin/sh\n" },
        { path: "etc/group", data: "root:x:0:\n" },
        { path: "data/a", data: "a\n" },
        { path: "data/b", data: "b\n" },
        { path: "opq/x", data: "x\n" },
        { path: "file-then-dir", data: "f\n" },
      ], `${dir}/l1`);
      await unpack([
        { path: "etc/.wh.group", data: "" },
        { path: "data/.wh.a", data: "" },
        { path: "opq/", mode: 0o755 },
        { path: "opq/.wh..wh..opq", data: "" },
        { path: "opq/z", data: "z\n" },
        { path: "file-then-dir/", mode: 0o700 },
        { path: "file-then-dir/inner", data: "i\n" },
        { path: "etc/passwd", data: "app:x:1000:1000::/:/bin/sh\n" },
      ], `${dir}/l2`);
      const layers = [`${dir}/l1`, `${dir}/l2`];
      const rootfs = `${dir}/rootfs`;
      await Deno.mkdir(rootfs);
      await copyRootfs(layers, rootfs);
      const names = (p: string) => [...Deno.readDirSync(`${rootfs}/${p}`)].map((e) => e.name).sort();
      assert.deepEqual(names("data"), ["b"], "the whiteout removes data/a");
      assert.deepEqual(names("opq"), ["z"], "the opaque directory hides opq/x");
      assert.deepEqual(names("etc"), ["passwd"]);
      assert.equal(
        Deno.readTextFileSync(`${rootfs}/etc/passwd`),
        "app:x:1000:1000::/:/bin/sh\n",
        "the top layer wins",
      );
      assert.equal(Deno.statSync(`${rootfs}/file-then-dir`).mode! & 0o777, 0o700);
      assert.deepEqual(names("file-then-dir"), ["inner"]);

      assert.equal(await readImageFile(layers, "/etc/passwd"), "app:x:1000:1000::/:/bin/sh\n");
      assert.equal(await readImageFile(layers, "/etc/group"), undefined, "whited out");
      assert.equal(await readImageFile(layers, "/opq/x"), undefined, "under an opaque directory");
      assert.equal(await readImageFile(layers, "/data/b"), "b\n", "from the lower layer");
      assert.equal(await readImageFile(layers, "/nope"), undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
