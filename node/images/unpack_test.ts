import assert from "node:assert/strict";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { testWith } from "../../tests/harness.ts";
import { getXattr } from "../mountns/libc.ts";
import { copyRootfs, readImageFile } from "../cri/oci/rootfs.ts";
import { type TarInput, writeTar } from "./tar.ts";
import { LayerError, safeComponents, unpackLayer } from "./unpack.ts";
import { holdUnpackWorker, unpackLayerInWorker, unpackWorkerRunning } from "./unpack_worker.ts";

/** Whiteouts are 0:0 character devices and opaque directories `trusted.*` xattrs: root only. */
const ROOT = { name: "root", available: () => Deno.uid() === 0, hint: "run as root" };
const root = (name: string, fn: () => Promise<void>) => testWith([ROOT], name, fn);

function stream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
}

async function unpack(
  entries: TarInput[],
  dest: string,
  compress?: "gzip" | "zstd",
  how: typeof unpackLayer = unpackLayer,
) {
  const tar = writeTar(entries);
  const bytes = compress === "gzip"
    ? new Uint8Array(zlib.gzipSync(tar))
    : compress === "zstd"
    ? new Uint8Array(
      (zlib as unknown as { zstdCompressSync(b: Uint8Array): Uint8Array }).zstdCompressSync(tar),
    )
    : tar;
  await Deno.mkdir(dest, { recursive: true });
  const result = await how(stream(bytes), dest);
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

/** What unpacking decides about a tree, path by path (hard links as "same inode as <path>"). */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    const abs = rel ? `${root}/${rel}` : root;
    const st = Deno.lstatSync(abs);
    const kind = st.isSymlink
      ? `symlink -> ${Deno.readLinkSync(abs)}`
      : st.isDirectory
      ? "dir"
      : st.isFile
      ? `file ${createHash("sha256").update(Deno.readFileSync(abs)).digest("hex").slice(0, 16)}`
      : st.isFifo
      ? "fifo"
      : st.isCharDevice
      ? `char ${st.rdev}`
      : "other";
    const xattrs = ["trusted.overlay.opaque", "user.note", "security.capability"]
      .map((n) => [n, getXattr(abs, n)]).filter(([, v]) => v !== undefined).map(([n, v]) => `${n}=${v}`);
    const first = st.isFile && st.nlink! > 1 ? inodes.get(st.ino!) : undefined;
    if (st.isFile && !first) inodes.set(st.ino!, rel);
    out[rel || "."] = [
      kind,
      `mode ${(st.mode! & 0o7777).toString(8)}`,
      `owner ${st.uid}:${st.gid}`,
      // Directories the archive does not list get the time they were made.
      st.isSymlink ? "" : st.mtime!.getTime() > 1.7e12 ? "mtime (unpack time)" : `mtime ${st.mtime!.getTime() / 1000}`,
      first ? `same inode as ${first}` : "",
      ...xattrs,
    ].filter(Boolean).join(", ");
    if (st.isDirectory) {
      for (const e of [...Deno.readDirSync(abs)].sort((a, b) => a.name < b.name ? -1 : 1)) {
        walk(rel ? `${rel}/${e.name}` : e.name);
      }
    }
  };
  walk("");
  return out;
}

/** A layer touching every rule of the writer. */
const EVERYTHING: TarInput[] = [
  { path: "./", mode: 0o755, mtime: 1_600_000_000 },
  { path: "bin/", mode: 0o755, mtime: 1_600_000_001 },
  { path: "bin/busybox", data: "#!busybox\n".repeat(5000), mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_002 },
  ...Array.from({ length: 40 }, (_, i) => ({
    path: `bin/applet-${i}`,
    type: "symlink" as const,
    linkname: "busybox",
    uid: i % 3,
    gid: i % 5,
  })),
  { path: "bin/hard", type: "hardlink", linkname: "bin/busybox" },
  { path: "etc/passwd", data: "root:x:0:0::/:/bin/sh\n", mode: 0o644, mtime: 1_600_000_003 },
  { path: "etc/passwd", data: "replaced:x:0:0::/:/bin/sh\n", mode: 0o600, mtime: 1_600_000_004 },
  { path: "home/app/", mode: 0o750, uid: 1000, gid: 1000, mtime: 1_600_000_005 },
  { path: "home/app/.profile", data: "x=1\n", uid: 1000, gid: 1000, mtime: 1_600_000_006 },
  { path: "tmp/", mode: 0o1777, mtime: 1_600_000_007 },
  { path: "run/fifo", type: "fifo", mode: 0o620, uid: 5, gid: 6, mtime: 1_600_000_008 },
  { path: "data/.wh.gone", data: "" },
  { path: "opq/", mode: 0o711 },
  { path: "opq/.wh..wh..opq", data: "" },
  { path: "opq/kept", data: "k\n", mode: 0o640, uid: 7, gid: 8 },
  {
    path: "attrs",
    data: "a\n",
    xattrs: { "user.note": "hello", "trusted.overlay.opaque": "y", "trusted.overlay.redirect": "/etc" },
  },
  { path: "was-file", data: "f\n" },
  { path: "was-file/", mode: 0o700 },
  { path: "was-file/inner", data: "i\n" },
  { path: "was-dir/sub/deep", data: "d\n" },
  { path: "was-dir", type: "symlink", linkname: "bin" },
  { path: `long/${"n".repeat(120)}/file`, data: "long\n", mtime: 1_600_000_009 },
];

root("unpackLayerInWorker() and a sliced unpackLayer() produce the very tree unpackLayer() does, and refuse the same layers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-unpack-" });
  using _worker = holdUnpackWorker(); // one Worker for every layer below
  try {
    const here = await unpack(EVERYTHING, `${dir}/here`, "gzip");
    const there = await unpack(EVERYTHING, `${dir}/there`, "gzip", unpackLayerInWorker);
    const sliced = await unpack(EVERYTHING, `${dir}/sliced`, "gzip", (b, d) => unpackLayer(b, d, { sliceMs: 0 }));
    assert.deepEqual(there.result, here.result, "same diffID, size and entry count");
    assert.deepEqual(sliced.result, here.result);
    assert.equal(here.result.diffId, here.diffId);
    const tree = describeTree(`${dir}/here`);
    assert.deepEqual(describeTree(`${dir}/there`), tree);
    assert.deepEqual(describeTree(`${dir}/sliced`), tree, "yielding after every entry changes nothing");
    // The rules, so that both paths being wrong the same way fails too.
    assert.match(tree["bin/busybox"], /mode 4755/);
    assert.match(tree["bin/hard"], /same inode as bin\/busybox/);
    assert.match(tree["bin/applet-4"], /^symlink -> busybox, mode 777, owner 1:4$/);
    assert.match(tree["etc/passwd"], /mode 600, owner 0:0, mtime 1600000004/);
    assert.match(tree["home/app"], /^dir, mode 750, owner 1000:1000, mtime 1600000005$/);
    assert.match(tree["tmp"], /mode 1777/);
    assert.match(tree["run/fifo"], /^fifo, mode 620, owner 5:6/);
    assert.match(tree["data/gone"], /^char 0,/);
    assert.match(tree["opq"], /trusted.overlay.opaque=y$/);
    assert.match(tree["attrs"], /user.note=hello$/, "user.* kept, trusted.* dropped");
    assert.match(tree["was-file"], /^dir, mode 700/);
    assert.match(tree["was-dir"], /^symlink -> bin/);
    assert.equal(tree["was-dir/sub"], undefined);
    assert.match(tree[`long/${"n".repeat(120)}/file`], /mtime 1600000009/);
    assert.match(tree["."], /^dir, mode 755/);

    const hostile: [string, TarInput[]][] = [
      ["symlink", [{ path: "link", type: "symlink", linkname: dir }, { path: "link/x", data: "pwned" }]],
      ["device", [{ path: "dev/mem", type: "char", devmajor: 1, devminor: 1 }]],
      ["hardlink", [{ path: "h", type: "hardlink", linkname: "etc/shadow" }]],
    ];
    for (const [name, entries] of hostile) {
      const why = await unpack(entries, `${dir}/h-${name}`).then(() => "unpacked", (e) => e);
      await assert.rejects(() => unpack(entries, `${dir}/w-${name}`, undefined, unpackLayerInWorker), (e) => {
        assert.ok(e instanceof LayerError, `${name}: ${e}`);
        assert.equal((e as Error).message, (why as Error).message);
        return true;
      });
    }
    await assert.rejects(
      () => unpackLayerInWorker(stream(new Uint8Array(1024).fill(7)), `${dir}/garbage`),
      (e) => (e as Error).name === "TarError",
      "a malformed archive is a TarError",
    );
    assert.ok(unpackWorkerRunning(), "held: still running");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpackLayerInWorker() rethrows the error the layer stream itself raised", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-unpack-" });
  try {
    class DigestMismatch extends Error {}
    const tar = writeTar([{ path: "a", data: "a".repeat(100_000) }]);
    const failing = stream(tar).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        flush() {
          throw new DigestMismatch("blob failed verification");
        },
      }),
    );
    await assert.rejects(() => unpackLayerInWorker(failing, dir), DigestMismatch);
    assert.equal(unpackWorkerRunning(), false, "the Worker stops once no unpack is in flight");
    await unpackLayerInWorker(stream(tar), dir);
    assert.equal(unpackWorkerRunning(), false, "after a success too");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
