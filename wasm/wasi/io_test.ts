import assert from "node:assert/strict";
import { ByteQueue, InputStream, IoError, OutputStream, poll, Pollable, promiseReadiness } from "./io.ts";

Deno.test("ByteQueue hands out pushed bytes in order, then the end", () => {
  const q = new ByteQueue();
  assert.equal(q.ready(), false);
  q.push(new Uint8Array([1, 2, 3]));
  assert.deepEqual(q.read(2), new Uint8Array([1, 2]));
  assert.deepEqual(q.read(10), new Uint8Array([3]));
  assert.deepEqual(q.read(10), new Uint8Array(0), "nothing yet, not the end");
  q.end();
  assert.equal(q.read(10), null);
});

Deno.test("InputStream.blockingRead() returns a Promise while nothing is there, and bytes once they come", async () => {
  const q = new ByteQueue();
  const s = new InputStream(q);
  const pending = s.blockingRead(10n);
  assert.ok(pending instanceof Promise);
  q.push(new Uint8Array([7]));
  assert.deepEqual(await pending, new Uint8Array([7]));
  q.end();
  assert.throws(() => s.read(1n), (e) => (e as { tag: string }).tag === "closed");
});

Deno.test("a pending wait rejects when the instance is aborted", async () => {
  const ac = new AbortController();
  const s = new InputStream(new ByteQueue(), ac.signal);
  const pending = s.blockingRead(1n) as Promise<Uint8Array>;
  ac.abort(new Error("stopped"));
  await assert.rejects(pending, /stopped/);
});

Deno.test("poll() answers synchronously when something is ready, else with a Promise", async () => {
  const ready = new Pollable();
  let resolve!: () => void;
  const later = new Pollable(promiseReadiness(new Promise<void>((r) => (resolve = r))));
  assert.deepEqual(poll([later, ready]), new Uint32Array([1]));
  const p = poll([later]);
  assert.ok(p instanceof Promise);
  resolve();
  assert.deepEqual(await p, new Uint32Array([0]));
  assert.equal(later.block(), undefined, "block() on a ready pollable does not suspend");
});

Deno.test("OutputStream writes into its sink, reports sink failures, and refuses writes once closed", () => {
  const got: number[] = [];
  const out = new OutputStream({ write: (b) => got.push(...b) });
  assert.equal(out.checkWrite(), 1n << 20n);
  out.blockingWriteAndFlush(new Uint8Array([1, 2]));
  out.writeZeroes(2n);
  assert.deepEqual(got, [1, 2, 0, 0]);
  const failing = new OutputStream({
    write: () => {
      throw new IoError("disk full");
    },
  });
  assert.throws(() => failing.write(new Uint8Array([1])), (e) => {
    const err = e as { tag: string; val: IoError };
    return err.tag === "last-operation-failed" && err.val.toDebugString() === "disk full";
  });
  out[Symbol.dispose]();
  assert.throws(() => out.write(new Uint8Array([1])), (e) => (e as { tag: string }).tag === "closed");
});
