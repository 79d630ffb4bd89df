import assert from "node:assert/strict";
import { isMountPoint, MountNamespace } from "./mount_ns.ts";
import { Spawner, SpawnerExitedError } from "./spawner.ts";
import { parseRequest } from "./spawner_protocol.ts";

const root = Deno.uid() === 0;
const dec = new TextDecoder();
const enc = new TextEncoder();

/** A spawner in this process's own mount namespace (nsenter into it changes nothing). */
function ownNamespace(): string {
  return `/proc/${Deno.pid}/ns/mnt`;
}

async function until<T>(what: string, f: () => T | undefined | false | 0, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pipes a process holds open. */
function pipesOf(pid: number): string[] {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].flatMap((e) => {
    try {
      const l = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
      return l.startsWith("pipe:") ? [`${e.name} ${l}`] : [];
    } catch {
      return [];
    }
  }).sort();
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

Deno.test("parseRequest() accepts run, mount and umount and names what is wrong with the rest", () => {
  assert.deepEqual(parseRequest('{"id":1,"op":"run","argv":["true"]}'), { id: 1, op: "run", argv: ["true"] });
  assert.equal((parseRequest('{"id":2,"op":"umount","target":"/x"}') as { op: string }).op, "umount");
  assert.deepEqual(parseRequest("nope"), { invalid: "not JSON" });
  assert.deepEqual(parseRequest('{"op":"run"}'), { invalid: "no numeric id" });
  assert.match((parseRequest('{"id":3,"op":"run","argv":[]}') as { invalid: string }).invalid, /argv/);
  assert.match(
    (parseRequest('{"id":4,"op":"run","argv":["a"],"env":{"A":1}}') as { invalid: string }).invalid,
    /env/,
  );
  assert.match(
    (parseRequest('{"id":5,"op":"mount","target":"/x"}') as { invalid: string }).invalid,
    /source/,
  );
  assert.match((parseRequest('{"id":6,"op":"fork"}') as { invalid: string }).invalid, /unknown op "fork"/);
});

Deno.test({
  name: "the spawner runs commands: exit codes, stdout, stderr, stdin, cwd, environment, answered by id",
  ignore: !root,
  async fn() {
    await using sp = new Spawner(ownNamespace());
    assert.equal(await sp.run({ argv: ["/bin/true"] }), undefined, "not ready yet: the caller uses nsenter");
    await until("the spawner", () => sp.pid);
    const r = await sp.run({
      argv: ["/bin/sh", "-c", 'read x; echo "$x $FOO ${HOME:-nohome} $(pwd)"; echo err >&2; exit 3'],
      stdin: enc.encode("in\n"),
      cwd: "/tmp",
      env: { FOO: "bar", PATH: "/usr/bin:/bin" },
      clearEnv: true,
    });
    assert.ok(r);
    assert.equal(r.code, 3);
    assert.equal(dec.decode(r.stdout), "in bar nohome /tmp\n");
    assert.equal(dec.decode(r.stderr), "err\n");
    assert.equal(r.timedOut, false);
    // Binary output survives the line protocol.
    const bin = await sp.run({ argv: ["/usr/bin/head", "-c", "256", "/dev/urandom"] });
    assert.equal(bin?.stdout.length, 256);
    // Pipelined: answers come back out of order, each to its own request.
    const outs = await Promise.all(
      [5, 1, 4, 2, 3].map((n) => sp.run({ argv: ["/bin/sh", "-c", `sleep 0.${n}; echo ${n}`] })),
    );
    assert.deepEqual(outs.map((o) => dec.decode(o!.stdout)), ["5\n", "1\n", "4\n", "2\n", "3\n"]);
    // A binary that does not exist: the request fails with the reason.
    await assert.rejects(
      () => sp.run({ argv: ["/nonexistent/binary"] }),
      /could not run \/nonexistent\/binary/,
    );
    // A malformed request is answered with an error, and the spawner goes on.
    const bad = await sp.request({ op: "run", argv: [] });
    assert.match(bad!.error!, /invalid request: argv/);
    assert.equal((await sp.run({ argv: ["/bin/echo", "still"] }))?.code, 0);
  },
});

Deno.test({
  name: "the spawner kills a command past its timeout, and does not wait for a daemon it leaves",
  ignore: !root,
  async fn() {
    await using sp = new Spawner(ownNamespace());
    sp.warm();
    await until("the spawner", () => sp.pid);
    let t = performance.now();
    const r = await sp.run({ argv: ["/bin/sleep", "5"], timeoutMs: 300 });
    assert.ok(r?.timedOut);
    assert.equal(r.code, 137);
    assert.equal(r.signal, "SIGKILL");
    assert.ok(performance.now() - t < 2000, `took ${performance.now() - t} ms`);
    // The shell exits at once; its background child keeps stdout open for a second.
    t = performance.now();
    const d = await sp.run({ argv: ["/bin/sh", "-c", "sleep 1 & echo started"], drainMs: 100 });
    assert.equal(dec.decode(d!.stdout), "started\n");
    assert.ok(performance.now() - t < 800, `took ${performance.now() - t} ms`);
    await new Promise((r) => setTimeout(r, 1100)); // the daemon ends
  },
});

Deno.test({
  name: "a spawner that dies fails its pending requests, and is started again while nsenter stands in",
  ignore: !root,
  async fn() {
    await using sp = new Spawner(ownNamespace());
    sp.warm();
    const first = await until("the spawner", () => sp.pid);
    const pending = sp.run({ argv: ["/bin/sleep", "5"] });
    await new Promise((r) => setTimeout(r, 100));
    Deno.kill(first, "SIGKILL");
    await assert.rejects(() => pending, SpawnerExitedError);
    // The next request finds none ready (use nsenter), and starts a new one.
    assert.equal(await sp.run({ argv: ["/bin/true"] }), undefined);
    const second = await until("a new spawner", () => sp.pid);
    assert.notEqual(second, first);
    assert.equal((await sp.run({ argv: ["/bin/echo", "back"] }))?.code, 0);
  },
});

Deno.test({
  name: "a spawner that cannot start leaves requests to nsenter, and is tried again later",
  ignore: !root,
  async fn() {
    // Fails the first time, starts the real spawner the second.
    const flag = await Deno.makeTempFile({ prefix: "skiff-spawner-flag-" });
    await Deno.remove(flag);
    const main = new URL("./spawner_main.ts", import.meta.url).pathname;
    const real = [
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-config",
      "--allow-run",
      "--allow-read",
      "--allow-ffi",
      main,
    ];
    await using sp = new Spawner(ownNamespace(), {
      command: ["/bin/sh", "-c", 'if [ -e "$0" ]; then exec "$@"; fi; touch "$0"; exit 1', flag, ...real],
      retryMs: 1000,
      startTimeoutMs: 5000,
    });
    sp.warm();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sp.pid, 0);
    // Not tried again before retryMs (a second start would succeed).
    assert.equal(await sp.run({ argv: ["/bin/true"] }), undefined);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(sp.pid, 0);
    await new Promise((r) => setTimeout(r, 500));
    sp.warm();
    await until("the spawner's second start", () => sp.pid);
    assert.equal((await sp.run({ argv: ["/bin/true"] }))?.code, 0);
    await Deno.remove(flag);
    // One that never says it is ready is killed at its start deadline.
    await using slow = new Spawner(ownNamespace(), { command: ["/bin/sleep", "30"], startTimeoutMs: 300 });
    slow.warm();
    const sleeper = await until("the sleeping spawner", () => {
      for (const e of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(e.name)) continue;
        try {
          const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
          const ppid = Number(Deno.readTextFileSync(`/proc/${e.name}/stat`).split(") ")[1].split(" ")[1]);
          if (cmd === "/bin/sleep\u000030\u0000" && ppid === Deno.pid) return Number(e.name);
        } catch { /* gone */ }
      }
      return undefined;
    });
    await until("the start deadline", () => !alive(sleeper), 3000);
    assert.equal(await slow.run({ argv: ["/bin/true"] }), undefined);
  },
});

Deno.test({
  name: "the spawner exits when its agent dies (the end of its stdin)",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-spawner-" });
    try {
      const script = `${dir}/agent.ts`;
      await Deno.writeTextFile(
        script,
        `import { Spawner } from ${JSON.stringify(new URL("./spawner.ts", import.meta.url).href)};
const sp = new Spawner("/proc/" + Deno.pid + "/ns/mnt");
sp.warm();
while (!sp.pid) await new Promise((r) => setTimeout(r, 5));
console.log(sp.pid);
await new Promise(() => {});
`,
      );
      const agent = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", script],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = agent.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const r = await reader.read();
        if (r.done) break;
        text += r.value;
      }
      const spawnerPid = Number(text.trim());
      assert.ok(spawnerPid > 0 && alive(spawnerPid));
      agent.kill("SIGKILL");
      await agent.status;
      await reader.cancel();
      await until("the spawner's exit", () => !alive(spawnerPid), 5000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "MountNamespace runs commands and mounts by its spawner, inside the namespace only",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-spawner-ns-" });
    const ns = await MountNamespace.open(`${dir}/ns`);
    try {
      assert.ok(ns.spawner);
      await until("the spawner", () => ns.spawner!.pid);
      const inside = Deno.readLinkSync(`/proc/${ns.spawner.pid}/ns/mnt`);
      assert.notEqual(
        inside,
        Deno.readLinkSync("/proc/self/ns/mnt"),
        "the spawner is in the node's namespace",
      );
      for (const d of ["l", "u", "w", "m"]) await Deno.mkdir(`${dir}/o/${d}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/o/l/f`, "lower\n");
      // Relative paths from `wd`, as prepare-bundle's mount with layer names.
      await ns.mount({
        source: "overlay",
        target: "m",
        fstype: "overlay",
        data: "lowerdir=l,upperdir=u,workdir=w",
        wd: `${dir}/o`,
      });
      assert.equal(await ns.run(["cat", `${dir}/o/m/f`]), "lower\n");
      assert.equal(await ns.run(["pwd"], { wd: `${dir}/o` }), `${dir}/o\n`);
      assert.equal(await ns.run(["cat"], { stdin: "through\n" }), "through\n");
      assert.equal(isMountPoint(`${dir}/o/m`), false, "the host does not see it");
      await assert.rejects(() => ns.run(["sh", "-c", "echo no >&2; exit 4"]), /failed \(4\): no/);
      await assert.rejects(
        () =>
          ns.mount({ source: "overlay", target: `${dir}/o/nowhere`, fstype: "overlay", data: "lowerdir=l" }),
        /mount .* failed: errno/,
      );
      await ns.unmount(`${dir}/o/m`, { detach: true });
      await ns.unmount(`${dir}/o/m`); // idempotent
      await assert.rejects(() => ns.run(["cat", `${dir}/o/m/f`]));
    } finally {
      await ns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "MountNamespace without a spawner does the same through nsenter",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-spawner-ns-" });
    const ns = await MountNamespace.open(`${dir}/ns`, { spawner: false });
    try {
      assert.equal(ns.spawner, undefined);
      for (const d of ["l", "u", "w", "m"]) await Deno.mkdir(`${dir}/o/${d}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/o/l/f`, "lower\n");
      await ns.mount({
        source: "overlay",
        target: "m",
        fstype: "overlay",
        data: "lowerdir=l,upperdir=u,workdir=w",
        wd: `${dir}/o`,
      });
      assert.equal(await ns.run(["cat", `${dir}/o/m/f`]), "lower\n");
      assert.equal(isMountPoint(`${dir}/o/m`), false);
      assert.equal(await ns.spawn({ argv: ["/bin/true"] }), undefined);
      await ns.unmount(`${dir}/o/m`, { detach: true });
      await ns.unmount(`${dir}/o/m`);
      await assert.rejects(() => ns.run(["cat", `${dir}/o/m/f`]));
    } finally {
      await ns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a syncPipe run hands its child one pipe (_OCI_SYNCPIPE) and sends the line written there, also after the answer",
  ignore: !root,
  async fn() {
    await using sp = new Spawner(ownNamespace());
    sp.warm();
    await until("the spawner", () => sp.pid);
    // The child sees what any child of the spawner sees (this test's own inherited descriptors
    // too), plus the pipe's write end: not its read end, nor another copy.
    const list = 'for f in /proc/self/fd/*; do [ "$(readlink "$f")" = /proc/$$/fd ] || echo "${f##*/}"; done';
    const plain = (await sp.run({ argv: ["/bin/sh", "-c", `echo "\${_OCI_SYNCPIPE:-none}"; ${list}`] }))!;
    const [none, ...base] = dec.decode(plain.stdout).trim().split("\n");
    assert.equal(none, "none");
    assert.equal(plain.sync, undefined, "without syncPipe, no pipe and no event");
    const r = (await sp.run({
      argv: ["/bin/sh", "-c", `echo "$_OCI_SYNCPIPE"; ${list}; readlink /proc/self/fd/$_OCI_SYNCPIPE >&2; echo '{"data": 42}' >/proc/self/fd/"$_OCI_SYNCPIPE"`],
      syncPipe: true,
    }))!;
    const [fd, ...fds] = dec.decode(r.stdout).trim().split("\n");
    const byNumber = (a: string, b: string) => Number(a) - Number(b);
    assert.deepEqual(fds.sort(byNumber), [...base, fd].sort(byNumber));
    assert.deepEqual(await r.sync, { data: 42 });
    const pipe = dec.decode(r.stderr).trim();
    assert.match(pipe, /^pipe:\[\d+\]$/);
    // A daemon left behind writes later (as conmon's does once `crun create` ends).
    const late = (await sp.run({
      argv: ["/bin/sh", "-c", '(sleep 0.3; echo \'{"data": -1, "message": "boom"}\' >/proc/self/fd/"$_OCI_SYNCPIPE") >/dev/null 2>&1 &'],
      syncPipe: true,
      drainMs: 0,
    }))!;
    assert.equal(late.code, 0);
    assert.deepEqual(await late.sync, { data: -1, message: "boom" });
    // A child that writes nothing: the pipe's end, no data.
    assert.deepEqual(await (await sp.run({ argv: ["/bin/true"], syncPipe: true }))!.sync, {});
    // A binary that cannot start: still one event (the pipe's end), and the run rejects.
    let sync: Promise<unknown> | undefined;
    await assert.rejects(async () => sync = (await sp.run({ argv: ["/nonexistent/conmon"], syncPipe: true }))?.sync);
    assert.equal(sync, undefined);
    // The spawner holds no end of the pipe afterwards (its read end and the child's copy closed).
    assert.ok(!pipesOf(sp.pid).some((p) => p.endsWith(pipe)), `${pipe} is still open in the spawner`);
  },
});
