import assert from "node:assert/strict";
import { filesystemImports } from "./filesystem.ts";

// deno-lint-ignore no-explicit-any
type Desc = any;

async function setup() {
  const root = await Deno.makeTempDir({ prefix: "skiff-fs-" });
  await Deno.mkdir(`${root}/rw/sub`, { recursive: true });
  await Deno.mkdir(`${root}/ro`);
  await Deno.writeTextFile(`${root}/ro/config.txt`, "hello");
  await Deno.writeTextFile(`${root}/secret.txt`, "outside");
  await Deno.symlink(`${root}/secret.txt`, `${root}/rw/escape`);
  await Deno.symlink("sub", `${root}/rw/inside`);
  const fs = filesystemImports([
    { guestPath: "/data", hostPath: `${root}/rw`, readOnly: false },
    { guestPath: "/config", hostPath: `${root}/ro`, readOnly: true },
  ]);
  const dirs = fs.imports["wasi:filesystem/preopens"].getDirectories() as [Desc, string][];
  return {
    root,
    fs,
    data: dirs[0][0],
    config: dirs[1][0],
    [Symbol.asyncDispose]: async () => {
      fs.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return "ok";
};

Deno.test("preopens show each volume at its guest path", async () => {
  await using t = await setup();
  const dirs = t.fs.imports["wasi:filesystem/preopens"].getDirectories() as [Desc, string][];
  assert.deepEqual(dirs.map(([, p]) => p), ["/data", "/config"]);
  const names: string[] = [];
  const it = t.config.readDirectory();
  for (let e = it.readDirectoryEntry(); e; e = it.readDirectoryEntry()) names.push(`${e.name}:${e.type}`);
  assert.deepEqual(names, ["config.txt:regular-file"]);
});

Deno.test("a read-write volume is written through descriptors and streams", async () => {
  await using t = await setup();
  const f = t.data.openAt({ symlinkFollow: true }, "sub/new.txt", { create: true }, {
    read: true,
    write: true,
  });
  assert.equal(f.write(new TextEncoder().encode("abc"), 0n), 3n);
  const out = f.appendViaStream();
  out.blockingWriteAndFlush(new TextEncoder().encode("def"));
  out[Symbol.dispose]();
  const [bytes, eof] = f.read(100n, 0n);
  assert.equal(new TextDecoder().decode(bytes), "abcdef");
  assert.equal(eof, true);
  assert.equal(f.stat().type, "regular-file");
  f[Symbol.dispose]();
  assert.equal(await Deno.readTextFile(`${t.root}/rw/sub/new.txt`), "abcdef");
  t.data.renameAt("sub/new.txt", t.data, "moved.txt");
  t.data.unlinkFileAt("moved.txt");
  assert.equal(code(() => t.data.statAt({}, "moved.txt")), "no-entry");
});

Deno.test("a read-only volume refuses every change", async () => {
  await using t = await setup();
  const f = t.config.openAt({}, "config.txt", {}, { read: true });
  assert.equal(new TextDecoder().decode(f.read(5n, 0n)[0]), "hello");
  f[Symbol.dispose]();
  assert.equal(code(() => t.config.openAt({}, "config.txt", {}, { read: true, write: true })), "read-only");
  assert.equal(code(() => t.config.openAt({}, "x", { create: true }, { read: true })), "read-only");
  assert.equal(code(() => t.config.createDirectoryAt("d")), "read-only");
  assert.equal(code(() => t.config.unlinkFileAt("config.txt")), "read-only");
});

Deno.test("paths cannot leave their volume: absolute paths, .. and symlinks out are refused", async () => {
  await using t = await setup();
  assert.equal(code(() => t.data.openAt({}, "../secret.txt", {}, { read: true })), "not-permitted");
  assert.equal(code(() => t.data.openAt({}, "sub/../../secret.txt", {}, { read: true })), "not-permitted");
  assert.equal(code(() => t.data.openAt({}, "/etc/hostname", {}, { read: true })), "not-permitted");
  assert.equal(
    code(() => t.data.openAt({ symlinkFollow: true }, "escape", {}, { read: true })),
    "not-permitted",
  );
  assert.equal(code(() => t.data.symlinkAt("/etc", "link")), "not-permitted");
  assert.equal(t.data.statAt({}, "escape").type, "symbolic-link", "the link itself may be looked at");
  const inside = t.data.openAt({ symlinkFollow: true }, "inside", { directory: true }, { read: true });
  assert.equal(inside.getType(), "directory", "a symlink within the volume is followed");
});
