import assert from "node:assert/strict";
import { HostCallError } from "../../plugins/host/runner_client.ts";
import { Spawner } from "../mountns/spawner.ts";
import { hostProcess, processBounds } from "./host_process.ts";

const here = { argv: (cmd: string[]) => cmd };
const dec = new TextDecoder();

Deno.test("processBounds() reads allow and timeoutSeconds, capped at 300 s", () => {
  assert.deepEqual(processBounds({ capability: "host-process" }), { allow: [], timeoutMs: 30_000 });
  assert.deepEqual(
    processBounds({
      capability: "host-process",
      bounds: { allow: ["/usr/bin/crun", 3], timeoutSeconds: 900 },
    }),
    {
      allow: ["/usr/bin/crun"],
      timeoutMs: 300_000,
    },
  );
});

Deno.test("host-process exec runs an allowed binary with only the given environment, and answers its output", async () => {
  const fns = hostProcess({ capability: "host-process", bounds: { allow: ["/bin/sh"] } }, here);
  const out = await fns.exec([
    "/bin/sh",
    ["-c", 'read x; echo "$x $FOO ${HOME:-nohome}"; echo err >&2; exit 3'],
    [["FOO", "bar"]],
    new TextEncoder().encode("in\n"),
  ], undefined) as {
    exitCode: number;
    stdout: Uint8Array;
    stderr: Uint8Array;
  };
  assert.equal(out.exitCode, 3);
  assert.equal(dec.decode(out.stdout), "in bar nohome\n");
  assert.equal(dec.decode(out.stderr), "err\n");
});

Deno.test("host-process exec refuses a binary off the allow list, and relative paths", async () => {
  const fns = hostProcess({ capability: "host-process", bounds: { allow: ["/usr/bin/crun"] } }, here);
  for (const binary of ["/bin/sh", "crun", "/usr/bin/../bin/crun"]) {
    await assert.rejects(
      async () => await fns.exec([binary, [], [], new Uint8Array()], undefined),
      (e: unknown) => {
        assert.ok(e instanceof HostCallError);
        assert.equal(e.variant?.tag, "denied");
        return true;
      },
    );
  }
});

Deno.test("host-process exec kills a process past its timeout, and does not wait for a daemon it leaves", async () => {
  const fns = hostProcess(
    { capability: "host-process", bounds: { allow: ["/bin/sh"], timeoutSeconds: 1 } },
    here,
  );
  const t0 = performance.now();
  await assert.rejects(
    async () => await fns.exec(["/bin/sh", ["-c", "sleep 5"], [], new Uint8Array()], undefined),
    /ran past its 1s timeout/,
  );
  assert.ok(performance.now() - t0 < 3000);
  // The shell exits at once; its background child keeps stdout open for a second.
  const t1 = performance.now();
  const out = await fns.exec(
    ["/bin/sh", ["-c", "sleep 1 & echo started"], [], new Uint8Array()],
    undefined,
  ) as { stdout: Uint8Array };
  assert.equal(dec.decode(out.stdout), "started\n");
  assert.ok(performance.now() - t1 < 800, `took ${performance.now() - t1} ms`);
  await new Promise((r) => setTimeout(r, 1100)); // the daemon ends
});

Deno.test({
  name: "host-process exec through the mount namespace's spawner answers as through nsenter",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using sp = new Spawner(`/proc/${Deno.pid}/ns/mnt`);
    sp.warm();
    while (!sp.pid) await new Promise((r) => setTimeout(r, 10));
    let spawned = 0;
    const ns = {
      argv: (cmd: string[]) => cmd,
      spawn: (req: Parameters<Spawner["run"]>[0]) => (spawned++, sp.run(req)),
    };
    const fns = hostProcess({ capability: "host-process", bounds: { allow: ["/bin/sh"], timeoutSeconds: 1 } }, ns);
    const out = await fns.exec([
      "/bin/sh",
      ["-c", 'read x; echo "$x $FOO ${HOME:-nohome}"; echo err >&2; exit 3'],
      [["FOO", "bar"]],
      new TextEncoder().encode("in\n"),
    ], undefined) as { exitCode: number; stdout: Uint8Array; stderr: Uint8Array };
    assert.equal(out.exitCode, 3);
    assert.equal(dec.decode(out.stdout), "in bar nohome\n");
    assert.equal(dec.decode(out.stderr), "err\n");
    await assert.rejects(
      async () => await fns.exec(["/bin/sh", ["-c", "sleep 5"], [], new Uint8Array()], undefined),
      /ran past its 1s timeout/,
    );
    const t1 = performance.now();
    const bg = await fns.exec(["/bin/sh", ["-c", "sleep 1 & echo started"], [], new Uint8Array()], undefined) as {
      stdout: Uint8Array;
    };
    assert.equal(dec.decode(bg.stdout), "started\n");
    assert.ok(performance.now() - t1 < 800, `took ${performance.now() - t1} ms`);
    assert.equal(spawned, 3, "every call went to the spawner");
    await new Promise((r) => setTimeout(r, 1100)); // the daemon ends
  },
});
