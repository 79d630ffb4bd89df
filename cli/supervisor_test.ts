import assert from "node:assert/strict";
import { groupMembers } from "./proc.ts";
import { reapStaleChildren, Supervisor } from "./supervisor.ts";

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "skiff-supervisor-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A shell with two grandchildren in its process group. */
const FAMILY = ["-c", "sleep 300 & sleep 300 & wait"];

Deno.test("Supervisor.stop() terminates a child's whole process group, grandchildren included", async () => {
  await using sup = new Supervisor();
  const child = sup.spawn({ name: "family", cmd: "sh", args: FAMILY });
  try {
    await waitFor("three group members", () => groupMembers(child.pid).length === 3);
    assert.deepEqual(sup.running.map((c) => c.name), ["family"]);
    await sup.stop();
    assert.equal((await child.status).signal, "SIGTERM");
    await waitFor("an empty group", () => groupMembers(child.pid).length === 0);
    assert.deepEqual(sup.running, []);
  } finally {
    killGroup(child.pid);
  }
});

Deno.test("Supervisor.stop() SIGKILLs a group that ignores SIGTERM once the grace period ends", async () => {
  await using sup = new Supervisor({ graceMs: 100 });
  const child = sup.spawn({
    name: "stubborn",
    cmd: "sh",
    args: ["-c", "trap '' TERM; sleep 300 & wait; wait"],
  });
  try {
    await waitFor("two group members", () => groupMembers(child.pid).length === 2);
    const start = Date.now();
    await sup.stop();
    assert.ok(Date.now() - start >= 100);
    assert.equal((await child.status).signal, "SIGKILL");
    await waitFor("an empty group", () => groupMembers(child.pid).length === 0);
  } finally {
    killGroup(child.pid);
  }
});

Deno.test("Supervisor.spawn() appends the child's stdout and stderr to its log file", async () => {
  await using dir = await tempDir();
  await using sup = new Supervisor();
  const log = `${dir.path}/child.log`;
  const child = sup.spawn({
    name: "echo",
    cmd: "sh",
    args: ["-c", "echo to-stdout; echo to-stderr >&2"],
    logFile: log,
  });
  assert.equal((await child.status).code, 0);
  await sup.stop();
  const text = await Deno.readTextFile(log);
  assert.match(text, /to-stdout/);
  assert.match(text, /to-stderr/);
});

Deno.test("Supervisor keeps a run record per running child and removes it when the child exits", async () => {
  await using dir = await tempDir();
  await using sup = new Supervisor({ runDir: dir.path });
  const child = sup.spawn({ name: "sleeper", cmd: "sleep", args: ["300"] });
  const record = JSON.parse(await Deno.readTextFile(`${dir.path}/sleeper.json`));
  assert.equal(record.pid, child.pid);
  assert.ok(record.startTime > 0);
  assert.throws(() => sup.spawn({ name: "sleeper", cmd: "true" }), /already running/);
  await sup.stop();
  await assert.rejects(Deno.stat(`${dir.path}/sleeper.json`), Deno.errors.NotFound);
});

/**
 * Runs a Deno script that supervises FAMILY, prints the child's PID, then does `then`. FAMILY logs
 * to a file: were it to inherit the script's stderr pipe, a surviving grandchild would hold it open.
 */
async function supervisingProcess(runDir: string, then: string) {
  const mod = new URL("./supervisor.ts", import.meta.url).href;
  const spec = { name: "family", cmd: "sh", args: FAMILY, logFile: `${runDir}/family.log` };
  const script = `import { Supervisor } from ${JSON.stringify(mod)};
    const sup = new Supervisor({ runDir: ${JSON.stringify(runDir)} });
    sup.installCrashGuards();
    console.log(sup.spawn(${JSON.stringify(spec)}).pid);
    ${then}`;
  const proc = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "piped" })
    .spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const pid = Number((await reader.read()).value?.trim());
  await reader.cancel();
  return { proc, pid };
}

/** Kills what a failed test may have left (a no-op when the test passed). */
function killGroup(pgid: number): void {
  try {
    if (pgid > 1) Deno.kill(-pgid, "SIGKILL");
  } catch { /* gone */ }
}

Deno.test("a crash of the supervising process kills its children's process groups", async () => {
  await using dir = await tempDir();
  const { proc, pid } = await supervisingProcess(
    dir.path,
    `setTimeout(() => { throw new Error("crash"); }, 300);`,
  );
  try {
    assert.ok(pid > 0);
    const status = await proc.output();
    assert.equal(status.code, 1);
    assert.match(new TextDecoder().decode(status.stderr), /crash/);
    await waitFor("an empty group", () => groupMembers(pid).length === 0);
  } finally {
    killGroup(pid);
  }
});

Deno.test("reapStaleChildren() kills what is left of a group whose supervisor was SIGKILLed", async () => {
  await using dir = await tempDir();
  const { proc, pid } = await supervisingProcess(dir.path, `setInterval(() => {}, 1000);`);
  try {
    await waitFor("three group members", () => groupMembers(pid).length === 3);
    proc.kill("SIGKILL");
    await proc.output();
    // The kernel kills the direct child (parent-death signal); its own children survive it.
    await waitFor("the leader's death", () => groupMembers(pid).length === 2);
    assert.deepEqual(reapStaleChildren(dir.path), [pid]);
    await waitFor("an empty group", () => groupMembers(pid).length === 0);
    assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["family.log"]);
    assert.deepEqual(reapStaleChildren(dir.path), []);
  } finally {
    killGroup(pid);
  }
});
