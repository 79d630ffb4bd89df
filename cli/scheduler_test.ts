import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import { startControlPlane } from "../control/mod.ts";
import { makeNode, makePod } from "../control/scheduler/testing.ts";
import { type Invocation, parseCommandArgs } from "./args.ts";
import { CliError } from "./errors.ts";
import { schedulerCommand, schedulerFlags } from "./scheduler.ts";

function flags(...argv: string[]) {
  const r = parseCommandArgs(schedulerCommand, argv);
  assert.equal(r.kind, "run", JSON.stringify(r));
  return (r as Invocation).flags;
}

Deno.test("schedulerFlags() defaults to leader election with upstream's durations and adaptive scoring", () => {
  assert.deepEqual(schedulerFlags(flags("--server", "http://x")), {
    identity: undefined,
    percentageOfNodesToScore: 0,
    initialBackoffMs: 1000,
    maxBackoffMs: 10_000,
    leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  });
});

Deno.test("schedulerFlags() reads --leader-elect=false, the percentage and the back-off bounds", () => {
  const o = schedulerFlags(
    flags(
      "--leader-elect=false",
      "--percentage-of-nodes-to-score",
      "30",
      "--pod-max-backoff-seconds",
      "3",
      "--identity",
      "s1",
    ),
  );
  assert.equal(o.leaderElection, false);
  assert.equal(o.percentageOfNodesToScore, 30);
  assert.equal(o.maxBackoffMs, 3000);
  assert.equal(o.identity, "s1");
});

Deno.test("schedulerFlags() rejects back-off bounds in the wrong order as a usage error", () => {
  assert.throws(
    () => schedulerFlags(flags("--pod-initial-backoff-seconds", "20")),
    (e) => e instanceof CliError && e.exitCode === 2,
  );
  assert.equal(parseCommandArgs(schedulerCommand, ["--percentage-of-nodes-to-score", "101"]).kind, "error");
});

Deno.test("the scheduler command binds pods as its own process and releases its lease on SIGTERM", async () => {
  const kv = await Deno.openKv(":memory:");
  const cp = await startControlPlane({ kv, port: 0, compactionIntervalMs: 0 });
  const client = new Client({ server: cp.url });
  try {
    await client.create(R.nodes, makeNode("n1"));
    const pod = makePod("p");
    delete pod.metadata.uid;
    delete pod.metadata.resourceVersion;
    await client.create(R.pods, pod);
    // The command through cli/main.ts's entry point, with a table holding it.
    const code = `
      import { main } from "${new URL("./main.ts", import.meta.url)}";
      import { schedulerCommand } from "${new URL("./scheduler.ts", import.meta.url)}";
      Deno.exit(await main(JSON.parse(Deno.env.get("SKIFF_ARGS")), [schedulerCommand]));`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      env: {
        SKIFF_ARGS: JSON.stringify([
          "scheduler",
          "--server",
          cp.url,
          "--identity",
          "cli-test",
          "--leader-elect-lease-duration",
          "2s",
          "--leader-elect-renew-deadline",
          "1s",
          "--leader-elect-retry-period",
          "200ms",
        ]),
      },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const deadline = Date.now() + 30_000;
    while (!(await client.get(R.pods, "default", "p")).spec.nodeName) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`the pod was not bound: ${await stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGTERM");
    const status = await child.status;
    const err = await stderr;
    assert.equal(status.code, 0, err);
    assert.match(err, /scheduler: cli-test talking to http/);
    const lease = await client.get(R.leases, "kube-system", "kube-scheduler");
    assert.equal(lease.spec.holderIdentity, "", "the lease is released on a clean stop");
  } finally {
    await cp.close();
    kv.close();
  }
});
