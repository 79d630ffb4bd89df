import assert from "node:assert/strict";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import { execFifoHost, execFifoPath, writeExecFifo } from "./exec_fifo.ts";
import { CreatingContainers } from "./creating_containers.ts";

/** crun's layout for `id` under a temp root: `<root>/<id>/exec.fifo` made by `mkfifo` (as crun's mkfifo(3)). */
async function created(id: string) {
  const root = await Deno.makeTempDir({ prefix: "skiff-exec-fifo-" });
  await Deno.mkdir(`${root}/${id}`);
  const fifo = execFifoPath(root, id);
  const r = await new Deno.Command("mkfifo", { args: ["-m", "600", fifo] }).output();
  assert.ok(r.success, "mkfifo");
  return { root, fifo, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

/** The container's end as `crun create` opens it: read-only, non-blocking. */
function reader(fifo: string): number {
  return openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("writeExecFifo() writes one byte to a waiting process and removes the fifo, as crun start", async () => {
  await using c = await created("a");
  const fd = reader(c.fifo);
  try {
    assert.equal(writeExecFifo(c.root, "a"), true);
    assert.equal(exists(c.fifo), false, "the fifo is gone: crun state says running");
    const b = new Uint8Array(4);
    assert.equal(readSync(fd, b), 1, "the waiting process got exactly one byte");
    assert.equal(b[0], 0);
  } finally {
    closeSync(fd);
  }
});

Deno.test("writeExecFifo() does nothing when no process reads the fifo (the container is gone)", async () => {
  await using c = await created("b");
  const t0 = performance.now();
  assert.equal(writeExecFifo(c.root, "b"), false);
  assert.ok(performance.now() - t0 < 1000, "it did not wait for a reader");
  assert.equal(exists(c.fifo), true, "the fifo is left for crun start to report on");
});

Deno.test("writeExecFifo() does nothing without a fifo, or with something else in its place", async () => {
  await using c = await created("c");
  assert.equal(writeExecFifo(c.root, "missing"), false);
  await Deno.remove(c.fifo);
  assert.equal(writeExecFifo(c.root, "c"), false, "already started (no fifo)");
  Deno.writeTextFileSync(c.fifo, "x");
  assert.equal(writeExecFifo(c.root, "c"), false, "a regular file");
  assert.equal(Deno.readTextFileSync(c.fifo), "x", "left as it was");
  await Deno.remove(c.fifo);
  // A symlink to a fifo someone reads is not followed.
  const other = `${c.root}/other.fifo`;
  assert.ok((await new Deno.Command("mkfifo", { args: [other] }).output()).success);
  const fd = reader(other);
  try {
    Deno.symlinkSync(other, c.fifo);
    assert.equal(writeExecFifo(c.root, "c"), false, "a symlink");
    assert.equal(exists(c.fifo), true);
    assert.equal(
      readSync(fd, new Uint8Array(1)),
      0,
      "nothing was written through it (no writer: end of file)",
    );
  } finally {
    closeSync(fd);
  }
});

Deno.test("write-exec-fifo refuses a malformed container id with invalid-argument", async () => {
  const fns = execFifoHost("/nonexistent", new CreatingContainers());
  for (const id of ["../etc", "a/b", "", 7, "..x"]) {
    await assert.rejects(
      async () => await fns["write-exec-fifo"]([id], undefined),
      (e) => e instanceof HostCallError && e.variant?.tag === "invalid-argument",
      `id ${JSON.stringify(id)}`,
    );
  }
  assert.equal(await fns["write-exec-fifo"](["no-such-container"], undefined), false);
});

Deno.test("write-exec-fifo switched off (SKIFF_EXEC_FIFO_START=0) does nothing", async () => {
  await using c = await created("d");
  const fd = reader(c.fifo);
  const creating = new CreatingContainers();
  try {
    assert.equal(await execFifoHost(c.root, creating, false)["write-exec-fifo"](["d"], undefined), false);
    assert.equal(exists(c.fifo), true);
    assert.equal(await execFifoHost(c.root, creating, true)["write-exec-fifo"](["d"], undefined), true);
    assert.equal(exists(c.fifo), false);
  } finally {
    closeSync(fd);
  }
});

Deno.test("write-exec-fifo waits for a create under way; a failed create is its error", async () => {
  await using c = await created("d");
  const fd = reader(c.fifo);
  const creating = new CreatingContainers();
  const fns = execFifoHost(c.root, creating, true);
  try {
    let done!: () => void;
    creating.add("d", new Promise<void>((r) => done = r));
    let answered = false;
    const started = Promise.resolve(fns["write-exec-fifo"](["d"], undefined)).then((
      v,
    ) => (answered = true, v));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered, false, "nothing written while crun creates it");
    assert.equal(exists(c.fifo), true);
    done();
    assert.equal(await started, true);
    assert.equal(exists(c.fifo), false);
    assert.equal(creating.has("d"), false, "a create that succeeded is not kept");

    creating.add("e", Promise.reject(new Error("crun: executable file `nope` not found")));
    await assert.rejects(
      async () => await fns["write-exec-fifo"](["e"], undefined),
      (e) =>
        e instanceof HostCallError && e.variant?.tag === "internal" && /nope/.test(String(e.variant?.val)),
    );
    assert.equal(creating.has("e"), true, "the failure is kept until the container is removed");
    creating.forget("e");
    assert.equal(await fns["write-exec-fifo"](["e"], undefined), false);
  } finally {
    closeSync(fd);
  }
});
