/**
 * The built-in `crun` plugin starts a created container by the node's write to crun's exec fifo
 * (`node-images.write-exec-fifo`) instead of a `crun start` process, and falls back to `crun
 * start` whenever the node did not do it. Real crun, conmon and busybox.
 */
import assert from "node:assert/strict";
import { testWith } from "../../../tests/harness.ts";
import { busyboxImage, pushImage } from "../../../tests/fixtures/oci/images.ts";
import { HostCallError, type HostCallHandler } from "../../../plugins/host/runner_client.ts";
import type { HostCall } from "../../../plugins/host/protocol.ts";
import { OCI_PREREQUISITES } from "../oci/testing.ts";
import { type CrunPluginHarness, crunPluginHarness, witContainerConfig, witSandboxConfig } from "./testing.ts";
import { execFifoPath } from "./exec_fifo.ts";

/** The plugin's host calls, as `node-images.write-exec-fifo` or `crun <verb>`. */
function recorder(seen: string[], change?: (call: HostCall) => Promise<unknown> | undefined) {
  return (h: HostCallHandler): HostCallHandler => (call, context) => {
    if (call.capability === "host-process") {
      const argv = call.args[1] as string[];
      seen.push(
        `${String(call.args[0]).split("/").pop()} ${argv[0]?.startsWith("--root") ? argv[1] : argv[0]}`,
      );
    } else {
      seen.push(`${call.capability}.${call.fn}`);
    }
    return change?.(call) ?? h(call, context);
  };
}

/** A pod on the node's network with one created container printing a marker, then sleeping. */
async function created(h: CrunPluginHarness, name: string) {
  const image = (await pushImage(h.registry.host, `fifo/${name}`, "1", await busyboxImage())).reference;
  await h.host.pullImage({ image });
  const cfg = witSandboxConfig(h.dir, name);
  const sb = await h.host.runPodSandbox(cfg, "oci") as string;
  const config = witContainerConfig(name, image, ["sh", "-c", `echo started-${name}; exec sleep 300`]);
  const c = await h.host.createContainer(sb, config, cfg);
  // CreateContainer answers once conmon is started; crun's create goes on (creating_containers.ts).
  await h.host.opts.creating.created(c);
  return { sb, c, log: `${cfg.logDirectory}/${name}/0.log` };
}

/** `crun state <id>`'s status inside the node's mount namespace; undefined when crun knows no such container. */
async function crunState(h: CrunPluginHarness, id: string): Promise<string | undefined> {
  try {
    const out = await h.host.opts.ns.run(["/usr/bin/crun", `--root=${h.dir}/oci/crun`, "state", id]);
    return JSON.parse(out).status;
  } catch {
    return undefined;
  }
}

/** Waits for `text` in the container's CRI log (its process ran). */
async function logged(path: string, text: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    try {
      if (Deno.readTextFileSync(path).includes(text)) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${text} never appeared in ${path}`);
}

testWith(
  OCI_PREREQUISITES,
  "a created container is started by the node's write to crun's exec fifo: no crun start; it runs, crun state says running, exec, kill and delete work",
  async () => {
    const seen: string[] = [];
    await using h = await crunPluginHarness({ wrapHostCalls: recorder(seen) });
    const { sb, c, log } = await created(h, "direct");
    assert.equal(await crunState(h, c), "created");
    seen.length = 0;
    await h.host.startContainer(c);
    assert.deepEqual(seen, ["node-images.write-exec-fifo"], "the start made no crun process");
    assert.equal((await h.host.getContainerStatus(c) as { state: string }).state, "container-running");
    await logged(log, "started-direct");
    assert.equal(await crunState(h, c), "running");
    await assert.rejects(Deno.lstat(execFifoPath(`${h.dir}/oci/crun`, c)), Deno.errors.NotFound);
    const out = await h.host.execSync(c, ["cat", "/proc/1/cmdline"], 5) as {
      exitCode: number;
      stdout: Uint8Array;
    };
    assert.equal(out.exitCode, 0);
    assert.equal(
      new TextDecoder().decode(out.stdout),
      "sleep\u0000300\u0000",
      "crun exec joins the running container",
    );
    // Starting again is idempotent and does nothing.
    seen.length = 0;
    await h.host.startContainer(c);
    assert.deepEqual(seen, []);
    await h.host.stopContainer(c, 0); // crun kill SIGKILL; the exit comes from conmon
    const st = await h.host.getContainerStatus(c) as { state: string; exitCode: number };
    assert.deepEqual([st.state, st.exitCode], ["container-exited", 137]);
    await h.host.removeContainer(c);
    assert.equal(await crunState(h, c), undefined, "crun delete removed it");
    await h.host.removePodSandbox(sb);
  },
);

testWith(
  OCI_PREREQUISITES,
  "crun start is run when the node does not write the exec fifo (a node without write-exec-fifo)",
  async () => {
    const seen: string[] = [];
    const older = (call: HostCall) =>
      call.fn === "write-exec-fifo"
        ? Promise.reject(
          new HostCallError({
            tag: "denied",
            val: "node-images.write-exec-fifo is not provided by this host",
          }),
        )
        : undefined;
    await using h = await crunPluginHarness({ wrapHostCalls: recorder(seen, older) });
    const { sb, c, log } = await created(h, "older");
    seen.length = 0;
    await h.host.startContainer(c);
    assert.deepEqual(seen, ["node-images.write-exec-fifo", "crun start"]);
    await logged(log, "started-older");
    assert.equal(await crunState(h, c), "running");
    await h.host.removePodSandbox(sb);
    assert.equal(await crunState(h, c), undefined);
  },
);

testWith(
  OCI_PREREQUISITES,
  "without its exec fifo a container is started by crun start, whose error is the start's",
  async () => {
    const seen: string[] = [];
    await using h = await crunPluginHarness({ wrapHostCalls: recorder(seen) });
    const { sb, c } = await created(h, "nofifo");
    await Deno.remove(execFifoPath(`${h.dir}/oci/crun`, c));
    seen.length = 0;
    await assert.rejects(h.host.startContainer(c), /exec\.fifo/);
    assert.deepEqual(
      seen,
      ["node-images.write-exec-fifo", "crun start"],
      "the node did nothing; crun start said why",
    );
    const st = await h.host.getContainerStatus(c) as { state: string; exitCode: number };
    assert.deepEqual([st.state, st.exitCode], ["container-exited", 128]);
    await h.host.removePodSandbox(sb);
    assert.equal(await crunState(h, c), undefined, "the waiting process was deleted with it");
  },
);
