import assert from "node:assert/strict";
import type { ContainerExit, ContainerSpec } from "../../../wasm/host/spec.ts";
import { SandboxShard } from "./sandbox_shard.ts";
import { Semaphore } from "./semaphore.ts";
import {
  encode,
  JsonLines,
  type ShimCommand,
  type ShimEvent,
  type ShimState,
  SOCKET,
  STATE,
} from "./shim_protocol.ts";

/** This process's `/proc/<pid>/stat` start time: the fake shim's `shim.json` names this process. */
function ownStartTime(): number {
  const stat = Deno.readTextFileSync(`/proc/${Deno.pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

/**
 * A shim on a real unix socket that answers each `start` as `reply` says (the agent's side of
 * the protocol is under test, not the shim).
 */
async function fakeShim(dir: string, reply: (cmd: Extract<ShimCommand, { op: "start" }>) => ShimEvent[]) {
  const state: ShimState = { shimPid: Deno.pid, shimStartTime: ownStartTime(), containers: {} };
  await Deno.writeTextFile(`${dir}/${STATE}`, JSON.stringify(state));
  const listener = Deno.listen({ transport: "unix", path: `${dir}/${SOCKET}` });
  const enc = new TextEncoder();
  const serving = (async () => {
    for await (const conn of listener) {
      const lines = new JsonLines<ShimCommand>();
      const send = (e: ShimEvent) => conn.write(enc.encode(encode(e)));
      try {
        for await (const chunk of conn.readable) {
          for (const cmd of lines.push(chunk)) {
            if (cmd.op === "snapshot") await send({ ev: "snapshot", state });
            if (cmd.op === "start") { for (const e of reply(cmd)) await send(e); }
          }
        }
      } catch { /* the agent went away */ }
    }
  })();
  return {
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}

/** `p`'s outcome, or "pending" when it has not settled after `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.then(() => "resolved", (e) => `rejected: ${e.message}`),
      new Promise<string>((r) => timer = setTimeout(() => r("pending"), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("SandboxShard.start() is over when the shim reports the container's exit before its start", async () => {
  // A shim that read the sandbox's "started" and "exit" of a quick command in one chunk sent
  // the exit first (or, before its fix, only the exit): the start must not wait forever, nor
  // keep its node-wide start slot.
  const dir = await Deno.makeTempDir({ prefix: "skiff-shard-" });
  try {
    const exit: ContainerExit = { exitCode: 0, reason: "Completed" };
    await using _shim = await fakeShim(dir, (cmd) => [{ ev: "exit", id: cmd.spec.id, exit, at: 1 }]);
    const starts = new Semaphore(1);
    const exited: string[] = [];
    const shard = new SandboxShard({
      name: "test",
      wrap: [],
      dir,
      permissions: { read: [], net: "none" },
      deadlineMs: 5000,
      starts,
    }, {
      started: () => {},
      startFailed: () => {},
      exited: (id, e) => exited.push(`${id}: ${e.reason}`),
    });
    try {
      assert.equal((await shard.reattach()).attached, true);
      const spec = { id: "quick", component: {} } as unknown as ContainerSpec;
      assert.equal(await within(shard.start(spec, `${dir}/quick.log`), 5000), "resolved");
      assert.deepEqual(exited, ["quick: Completed"]);
      assert.equal(await within(starts.acquire(), 1000), "resolved", "the start slot was released");
      starts.release();
    } finally {
      await shard.detach();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
