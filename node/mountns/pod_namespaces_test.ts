import assert from "node:assert/strict";
import { MountNamespace } from "./mount_ns.ts";
import { parseRequest } from "./spawner_protocol.ts";

const root = Deno.uid() === 0;

async function until<T>(what: string, f: () => T | undefined | false | 0, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every thread's IPC and UTS namespace links of process `pid`. */
function threadNamespaces(pid: number): string[] {
  const out: string[] = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    for (const k of ["ipc", "uts"]) {
      try {
        out.push(`${t.name} ${Deno.readLinkSync(`/proc/${pid}/task/${t.name}/ns/${k}`)}`);
      } catch { /* a thread that ended */ }
    }
  }
  return out.sort();
}

/** The namespaces a process entering `dir`'s files finds, and its hostname (inside `ns`). */
async function enter(ns: MountNamespace, dir: string): Promise<{ ipc: string; uts: string; hostname: string }> {
  const out = await ns.run([
    "nsenter",
    `--ipc=${dir}/ipc`,
    `--uts=${dir}/uts`,
    "/bin/sh",
    "-c",
    "readlink /proc/self/ns/ipc /proc/self/ns/uts; hostname",
  ]);
  const [ipc, uts, hostname] = out.trim().split("\n");
  return { ipc, uts, hostname };
}

Deno.test("parseRequest() checks unshare requests", () => {
  assert.deepEqual(parseRequest('{"id":1,"op":"unshare","ipc":"/p/ipc","uts":"/p/uts","hostname":"h"}'), {
    id: 1,
    op: "unshare",
    ipc: "/p/ipc",
    uts: "/p/uts",
    hostname: "h",
  });
  assert.match((parseRequest('{"id":2,"op":"unshare"}') as { invalid: string }).invalid, /ipc or uts/);
  assert.match(
    (parseRequest('{"id":3,"op":"unshare","ipc":"/p/ipc","hostname":"h"}') as { invalid: string }).invalid,
    /hostname needs uts/,
  );
  assert.match((parseRequest('{"id":4,"op":"unshare","uts":7}') as { invalid: string }).invalid, /strings/);
});

Deno.test({
  name: "the spawner makes a pod's IPC and UTS namespaces on its own thread and returns to its own",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-podns-" });
    const ns = await MountNamespace.open(`${dir}/ns`);
    try {
      const pid = await until("the spawner", () => ns.spawner!.pid);
      const before = threadNamespaces(pid);
      const own = { ipc: Deno.readLinkSync(`/proc/${pid}/ns/ipc`), uts: Deno.readLinkSync(`/proc/${pid}/ns/uts`) };
      await Deno.mkdir(`${dir}/a`);
      await Deno.mkdir(`${dir}/b`);
      await ns.unshare({ ipc: `${dir}/a/ipc`, uts: `${dir}/a/uts`, hostname: "pod-a" });
      await ns.unshare({ ipc: `${dir}/b/ipc`, uts: `${dir}/b/uts`, hostname: "pod-b" });
      assert.deepEqual(threadNamespaces(pid), before, "every thread of the spawner is back in its own");
      assert.equal(ns.spawner!.pid, pid, "the same spawner, no process started");
      const a = await enter(ns, `${dir}/a`), b = await enter(ns, `${dir}/b`);
      assert.equal(a.hostname, "pod-a");
      assert.equal(b.hostname, "pod-b");
      assert.match(a.ipc, /^ipc:\[\d+\]$/);
      assert.match(a.uts, /^uts:\[\d+\]$/);
      assert.notEqual(a.ipc, own.ipc);
      assert.notEqual(a.uts, own.uts);
      assert.notEqual(a.ipc, b.ipc);
      assert.notEqual(a.uts, b.uts);
      // The files are namespaces of their kind: setns of the other kind is refused.
      await assert.rejects(() => ns.run(["nsenter", `--ipc=${dir}/a/uts`, "true"]));
      // A process the spawner starts afterwards is in the node's namespaces.
      assert.equal((await ns.run(["hostname"])).trim(), Deno.hostname());
      assert.equal((await ns.run(["readlink", "/proc/self/ns/uts"])).trim(), own.uts);
      // An IPC namespace alone (hostIPC false, hostNetwork true).
      await Deno.mkdir(`${dir}/c`);
      await ns.unshare({ ipc: `${dir}/c/ipc` });
      assert.notEqual((await ns.run(["nsenter", `--ipc=${dir}/c/ipc`, "readlink", "/proc/self/ns/ipc"])).trim(), own.ipc);
      assert.deepEqual(threadNamespaces(pid), before);
      for (const d of ["a", "b", "c"]) {
        for (const k of ["ipc", "uts"]) await ns.unmount(`${dir}/${d}/${k}`, { detach: true });
      }
    } finally {
      await ns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a failed unshare leaves no mount and the spawner's thread in its own namespaces",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-podns-" });
    const ns = await MountNamespace.open(`${dir}/ns`);
    try {
      const pid = await until("the spawner", () => ns.spawner!.pid);
      const before = threadNamespaces(pid);
      await Deno.mkdir(`${dir}/p`);
      // sethostname fails (longer than 64 bytes) after both bind mounts were made.
      await assert.rejects(
        () => ns.unshare({ ipc: `${dir}/p/ipc`, uts: `${dir}/p/uts`, hostname: "h".repeat(65) }),
        /sethostname .* failed: errno 22/,
      );
      assert.deepEqual(threadNamespaces(pid), before);
      const mounts = await ns.run(["cat", "/proc/self/mountinfo"]);
      assert.ok(!mounts.includes(`${dir}/p/`), "the mounts made were undone");
      // A file that cannot be made: nothing unshared.
      await assert.rejects(() => ns.unshare({ uts: `${dir}/missing/uts` }), /open .* failed: errno 2 \(ENOENT\)/);
      assert.deepEqual(threadNamespaces(pid), before);
      assert.equal(ns.spawner!.pid, pid, "the spawner goes on");
      assert.equal((await ns.run(["hostname"])).trim(), Deno.hostname());
    } finally {
      await ns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "without a spawner a pod's namespaces are made by the unshare command, the same way",
  ignore: !root,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skiff-podns-" });
    const ns = await MountNamespace.open(`${dir}/ns`, { spawner: false });
    try {
      await Deno.mkdir(`${dir}/p`);
      await ns.unshare({ ipc: `${dir}/p/ipc`, uts: `${dir}/p/uts`, hostname: "pod-p" });
      const p = await enter(ns, `${dir}/p`);
      assert.equal(p.hostname, "pod-p");
      assert.notEqual(p.uts, Deno.readLinkSync("/proc/self/ns/uts"));
      for (const k of ["ipc", "uts"]) await ns.unmount(`${dir}/p/${k}`, { detach: true });
    } finally {
      await ns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
