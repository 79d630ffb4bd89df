import assert from "node:assert/strict";
import { BlobStore, DigestMismatchError, sha256Digest } from "./blob_store.ts";

Deno.test("BlobStore stores a blob under its digest and refuses content that does not match", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new BlobStore(dir);
    const bytes = new TextEncoder().encode("hello blob");
    const digest = sha256Digest(bytes);
    assert.equal(await store.has(digest), false);
    const path = await store.write(
      digest,
      ReadableStream.from([bytes.subarray(0, 3), bytes.subarray(3)]),
      bytes.length,
    );
    assert.equal(path, `${dir}/sha256/${digest.slice(7)}`);
    assert.deepEqual(await store.read(digest), bytes);
    const wrong = sha256Digest(new TextEncoder().encode("other"));
    await assert.rejects(() => store.write(wrong, bytes), DigestMismatchError);
    assert.equal(await store.has(wrong), false);
    await assert.rejects(() => store.write(digest, bytes, 3), /3 bytes/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/ingest`)], [], "no temporary file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
