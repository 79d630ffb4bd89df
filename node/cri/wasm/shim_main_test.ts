import assert from "node:assert/strict";
import { testWith } from "../../../tests/harness.ts";
import { buildFixture, fixturePrerequisites } from "../../../tests/fixtures/build.ts";
import { ComponentCache } from "../../../wasm/mod.ts";
import type { ContainerSpec } from "../../../wasm/host/spec.ts";
import { readShimState, ShimClient } from "./shim_client.ts";
import type { ShimEvent } from "./shim_protocol.ts";

/** Bytes process `pid` has read so far (`rchar` of `/proc/<pid>/io`). */
function bytesRead(pid: number): number {
  return Number(/^rchar: (\d+)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/io`))![1]);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

testWith(
  fixturePrerequisites("hello_c"),
  "the sandbox shim reports a quick command started when it reads the command's start and exit at once",
  async () => {
    // On a busy machine the shim may read the sandbox's "started" and "exit" of a quick command
    // in one chunk. Here the shim is stopped (SIGSTOP) while the command runs, so it does.
    const dir = await Deno.makeTempDir({ prefix: "skiff-shim-" });
    try {
      await Deno.mkdir(`${dir}/data`);
      await using components = new ComponentCache({ dir: `${dir}/wasm` });
      const component = await components.prepare({ path: (await buildFixture("hello_c")).path });
      const client = await ShimClient.start({
        dir: `${dir}/shim`,
        sandbox: {
          name: "shim-test",
          permissions: { read: [components.dir, dir], write: [dir], net: "none" },
          deadlineMs: 5000,
        },
      });
      const events: ShimEvent[] = [];
      client.onEvent((e) => events.push(e));
      try {
        const { shimPid, sandboxPid } = readShimState(`${dir}/shim`)!;
        const spec = {
          id: "quick",
          component,
          args: ["quick"],
          mounts: [{ hostPath: `${dir}/data`, guestPath: "/data" }],
          memoryLimitBytes: 256 << 20,
        } satisfies ContainerSpec;
        // The sandbox reads nothing more once it has settled (its modules loaded).
        let before = -1;
        await until("the sandbox to settle", async () => {
          const now = bytesRead(sandboxPid!);
          if (now !== before) {
            before = now;
            await new Promise((r) => setTimeout(r, 300));
            return false;
          }
          return true;
        });
        client.send({ op: "start", spec, logPath: `${dir}/quick.log` });
        // The sandbox has the command (it reads the component next): stop the shim until the
        // guest has written its file (its last act) and a moment more for "started" and "exit".
        await until("the sandbox to read the start", () => bytesRead(sandboxPid!) > before);
        Deno.kill(shimPid, "SIGSTOP");
        try {
          await until(
            "the guest's file",
            () => Deno.stat(`${dir}/data/out.txt`).then(() => true, () => false),
          );
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          Deno.kill(shimPid, "SIGCONT");
        }
        await until("the exit", () => events.some((e) => e.ev === "exit" && e.id === "quick"));
        await until("the start", () => events.some((e) => e.ev === "started" && e.id === "quick"), 5000)
          .catch(() =>
            assert.fail(`the shim reported the exit but not the start: ${JSON.stringify(events)}`)
          );
      } finally {
        client.send({ op: "shutdown" });
        await client.ended;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
