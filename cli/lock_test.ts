import assert from "node:assert/strict";
import { CliError } from "./errors.ts";
import { acquireDataDirLock, LOCK_FILE, parsePid } from "./lock.ts";

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "skiff-lock-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("acquireDataDirLock() writes the PID and a clean release leaves the file empty", async () => {
  await using dir = await tempDir();
  const lock = await acquireDataDirLock(dir.path, 4242);
  assert.equal(lock.stalePid, undefined);
  assert.equal(await Deno.readTextFile(`${dir.path}/${LOCK_FILE}`), "4242\n");
  await lock.release();
  await lock.release();
  assert.equal(await Deno.readTextFile(`${dir.path}/${LOCK_FILE}`), "");
  await using again = await acquireDataDirLock(dir.path);
  assert.equal(again.stalePid, undefined);
});

Deno.test("acquireDataDirLock() refuses a data dir already locked, naming the holder's PID", async () => {
  await using dir = await tempDir();
  await using _held = await acquireDataDirLock(dir.path, 4242);
  await assert.rejects(acquireDataDirLock(dir.path), (e) => {
    assert.ok(e instanceof CliError);
    assert.equal(e.exitCode, 1);
    assert.match(e.message, /is in use by another \.\/skiff up \(pid 4242\)/);
    return true;
  });
});

Deno.test("acquireDataDirLock() takes over a lock file left by a killed process and reports its PID", async () => {
  await using dir = await tempDir();
  // A process that takes the lock and is then SIGKILLed, as a crashed `up` would be.
  const script = `const f = await Deno.open(${JSON.stringify(`${dir.path}/${LOCK_FILE}`)}, ` +
    `{ read: true, write: true, create: true }); await f.lock(true); ` +
    `await f.write(new TextEncoder().encode(Deno.pid + "\\n")); console.log("locked"); setInterval(() => {}, 1000);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value?.trim(), "locked");
  await assert.rejects(acquireDataDirLock(dir.path), new RegExp(`pid ${child.pid}`));
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  await using lock = await acquireDataDirLock(dir.path);
  assert.equal(lock.stalePid, child.pid);
});

Deno.test("parsePid() reads a PID and ignores anything else", () => {
  assert.equal(parsePid("123\n"), 123);
  assert.equal(parsePid(""), undefined);
  assert.equal(parsePid("0"), undefined);
  assert.equal(parsePid("12 34"), undefined);
});
