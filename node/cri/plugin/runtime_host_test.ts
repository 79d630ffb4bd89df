import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { eventually, testWith } from "../../../tests/harness.ts";
import { busyboxImage, pushImage } from "../../../tests/fixtures/oci/images.ts";
import { runtimeCases } from "../../../plugins/runtime/conformance.ts";
import { OCI_PREREQUISITES } from "../oci/testing.ts";
import { crunPluginHarness, witContainerConfig, witSandboxConfig } from "./testing.ts";
import { buildPlugin } from "../../../plugins/host/build.ts";
import { runtimeSuite } from "../../hostcaps/runtime_conformance.ts";

testWith(
  OCI_PREREQUISITES,
  "runtime conformance: the crun component through a runner, with its node-side host",
  async (t) => {
    await using h = await crunPluginHarness();
    const image =
      (await pushImage(h.registry.host, "conformance/busybox", "1", await busyboxImage())).reference;
    const logDirectory = `${h.dir}/pods/default_p_uid-1`;
    const newImpl = () =>
      Promise.resolve({
        image,
        logDirectory,
        call: (op: string, ...args: unknown[]) =>
          (h.host as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[op](...args),
        [Symbol.asyncDispose]: () => Promise.resolve(),
      });
    for (const c of runtimeCases) await t.step(c.name, () => c.fn(newImpl));
  },
);

testWith(
  OCI_PREREQUISITES,
  "a container's grace period does not hold the plugin: other containers are created and started meanwhile",
  async () => {
    await using h = await crunPluginHarness();
    const image = (await pushImage(h.registry.host, "grace/busybox", "1", await busyboxImage())).reference;
    await h.host.pullImage({ image });
    const sandbox = (name: string) => witSandboxConfig(h.dir, name);
    // PID 1 without a handler: SIGTERM is ignored, only SIGKILL ends it.
    const container = (name: string) => witContainerConfig(name, image, ["sleep", "300"]);
    const run = async (name: string) => {
      const cfg = sandbox(name);
      const sb = await h.host.runPodSandbox(cfg, "oci") as string;
      const c = await h.host.createContainer(sb, container(name), cfg);
      await h.host.startContainer(c);
      return { sb, c };
    };
    const a = await run("stubborn");
    const t0 = performance.now();
    const stopping = h.host.stopContainer(a.c, 20);
    const b = await run("other");
    const took = performance.now() - t0;
    assert.ok(took < 5000, `another pod's container took ${Math.round(took)} ms while a grace period ran`);
    assert.equal(
      ((await h.host.getContainerStatus(a.c)) as { state: string }).state,
      "container-running",
      "still in its grace period",
    );
    // Kill it now: the pending stop ends with the exit.
    await h.host.stopContainer(a.c, 0);
    await stopping;
    const st = await h.host.getContainerStatus(a.c) as { state: string; exitCode: number };
    assert.equal(st.state, "container-exited");
    assert.equal(st.exitCode, 137);
    for (const x of [a, b]) await h.host.removePodSandbox(x.sb);
  },
);

testWith(
  OCI_PREREQUISITES,
  "the crun component answers statuses (skiff:runtime@0.2.0): a pod's start reads none back",
  async () => {
    await using h = await crunPluginHarness();
    const image = (await pushImage(h.registry.host, "answers/busybox", "1", await busyboxImage())).reference;
    await h.host.pullImage({ image });
    const cfg = witSandboxConfig(h.dir, "a", "answers-uid");
    const made = await h.host.runPodSandboxStatus(cfg, "oci");
    assert.equal(made.status?.id, made.id, "run-pod-sandbox answered the sandbox's status");
    assert.equal(made.status?.state, "sandbox-ready");
    h.host.seedSandbox(made.id);
    const calls: string[] = [];
    const call = h.runner.call.bind(h.runner);
    h.runner.call = (op: string, ...rest: unknown[]) => {
      calls.push(op);
      return (call as (...a: unknown[]) => Promise<unknown>)(op, ...rest);
    };
    const config = witContainerConfig("a", image, ["sleep", "30"]);
    const c = await h.host.createContainer(made.id, config, cfg);
    await h.host.startContainer(c);
    const listed = await h.host.listContainers(made.id) as { id: string; state: string }[];
    assert.deepEqual(listed.map((x) => [x.id, x.state]), [[c, "container-running"]]);
    assert.deepEqual(calls, ["createContainer", "startContainer"], "no status read after the verbs");
    h.runner.call = call;
    await h.host.removePodSandbox(made.id);
  },
);

testWith(
  OCI_PREREQUISITES,
  "the node's mount namespace lets go of a container's rootfs once crun created it: the container runs, execs, writes and is removed",
  async () => {
    await using h = await crunPluginHarness();
    const image = (await pushImage(h.registry.host, "release/busybox", "1", await busyboxImage())).reference;
    await h.host.pullImage({ image });
    const cfg = witSandboxConfig(h.dir, "r", "release-uid");
    const sb = await h.host.runPodSandbox(cfg, "oci") as string;
    const config = witContainerConfig("r", image, ["sh", "-c", "echo made > /made; exec sleep 30"]);
    const c = await h.host.createContainer(sb, config, cfg);
    const rootfs = `${h.host.dirs.containers}/${c}/rootfs`;
    await h.host.startContainer(c);
    const mounted = async () =>
      (await h.host.opts.ns.run(["cat", "/proc/self/mountinfo"])).includes(` ${rootfs} `);
    await eventually("the rootfs unmounted in the node's namespace", async () => !(await mounted()));
    const exec = (cmd: string[]) =>
      h.host.execSync(c, cmd, 5n) as Promise<{ exitCode: number; stdout: Uint8Array }>;
    const read = await eventually("the container's file", async () => {
      const out = await exec(["cat", "/made"]);
      return out.exitCode === 0 && new TextDecoder().decode(out.stdout).trim();
    });
    assert.equal(read, "made", "the container still sees its rootfs");
    const wrote = await exec(["sh", "-c", "echo more > /more && cat /more"]);
    assert.equal(wrote.exitCode, 0, "and writes to it");
    // The writable layer is still the bundle's: the node sees what the container wrote.
    assert.equal(Deno.readTextFileSync(`${h.host.dirs.containers}/${c}/upper/more`).trim(), "more");
    await h.host.stopContainer(c, 0);
    await h.host.removePodSandbox(sb);
    assert.equal(existsSync(`${h.host.dirs.containers}/${c}`), false, "the bundle is removed");
  },
);

testWith(
  OCI_PREREQUISITES,
  "runtime conformance: a plugin built against skiff:runtime@0.1.0 still loads and passes",
  async (t) => {
    const source = new URL("../../../plugins/runtime/v0_1/template/plugin.ts", import.meta.url).pathname;
    const wit = new URL("../../../plugins/runtime/v0_1/wit", import.meta.url).pathname;
    await using suite = await runtimeSuite(async () => (await buildPlugin({ kind: "runtime", source, wit })).bytes);
    for (const c of suite.cases) await t.step(c.name, () => c.fn(suite.newImpl));
  },
);

testWith(
  OCI_PREREQUISITES,
  "a create ends on conmon's sync message, not the pid-file polls: a started container, and a failed create as the start's error with crun's message",
  async () => {
    // Polls 20 s apart: only conmon's message (the spawner's sync event) can end a wait sooner.
    await using h = await crunPluginHarness({ createPollMs: 20_000 });
    const image = (await pushImage(h.registry.host, "sync/busybox", "1", await busyboxImage())).reference;
    await h.host.pullImage({ image });
    const cfg = witSandboxConfig(h.dir, "sync");
    const container = (name: string, command: string[]) => witContainerConfig(name, image, command);
    const sb = await h.host.runPodSandbox(cfg, "oci") as string;
    let t0 = performance.now();
    const id = await h.host.createContainer(sb, container("ok", ["sleep", "300"]), cfg);
    assert.equal(((await h.host.getContainerStatus(id)) as { state: string }).state, "container-created");
    // The start waits for crun's create, which conmon's message ends.
    await h.host.startContainer(id);
    let took = performance.now() - t0;
    assert.ok(took < 10_000, `create + start took ${Math.round(took)} ms: the polls ended it, not conmon's message`);
    assert.equal(((await h.host.getContainerStatus(id)) as { state: string }).state, "container-running");
    t0 = performance.now();
    // crun's create fails after the plugin answered (as containerd's, whose create runs no runc):
    // the start reports it, with crun's own message.
    const bad = await h.host.createContainer(sb, container("bad", ["/no/such/binary"]), cfg);
    await assert.rejects(
      () => h.host.startContainer(bad),
      (e: Error) => {
        assert.match(e.message, /no\/such\/binary|No such file|not found/i, "crun's own message");
        return true;
      },
    );
    took = performance.now() - t0;
    assert.ok(took < 10_000, `the failed create took ${Math.round(took)} ms: the polls ended it, not conmon's message`);
    const status = (await h.host.getContainerStatus(bad)) as { state: string; exitCode: number; reason: string };
    assert.deepEqual(
      [status.state, status.exitCode, status.reason],
      ["container-exited", 128, "StartError"],
      "as containerd reports a container that could not be started",
    );
    await h.host.removeContainer(bad);
    await assert.rejects(h.host.getContainerStatus(bad));
    await h.host.removePodSandbox(sb);
  },
);

testWith(
  OCI_PREREQUISITES,
  "the plugin's create is asked for while the sandbox is being made: its conmon waits for it, and a sandbox that could not be made is that create's error only",
  async () => {
    await using h = await crunPluginHarness();
    const image = (await pushImage(h.registry.host, "ready/busybox", "1", await busyboxImage())).reference;
    await h.host.pullImage({ image });
    const cfg = witSandboxConfig(h.dir, "ready");
    const sb = await h.host.runPodSandbox(cfg, "oci") as string;
    let release!: () => void;
    const ready = new Promise<void>((r) => release = r);
    let answered = false;
    const creating = h.host.createContainer(
      sb,
      witContainerConfig("ok", image, ["sleep", "300"]),
      cfg,
      undefined,
      ready,
    ).then((id) => (answered = true, id));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(answered, false, "conmon is not run before what the create needs is there");
    release();
    const id = await creating;
    await h.host.startContainer(id);
    assert.equal(((await h.host.getContainerStatus(id)) as { state: string }).state, "container-running");

    // Another pod's create, queued behind this one, whose sandbox fails: this one's conmon waits
    // for it to settle, not for it to succeed; the failure is the other create's error only.
    let fail!: (e: Error) => void;
    const failing = new Promise<void>((_, reject) => fail = reject);
    failing.catch(() => {});
    const good = h.host.createContainer(
      sb,
      witContainerConfig("good", image, ["sleep", "300"]),
      cfg,
      undefined,
      Promise.resolve(),
    );
    const bad = h.host.createContainer(
      sb,
      witContainerConfig("bad", image, ["sleep", "300"]),
      cfg,
      undefined,
      failing,
    );
    const badFails = assert.rejects(bad, /the pod's namespaces could not be made/);
    setTimeout(() => fail(new Error("the pod's namespaces could not be made")), 300);
    await h.host.startContainer(await good);
    await badFails;
    await h.host.removePodSandbox(sb);
  },
);
