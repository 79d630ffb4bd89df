/**
 * Leader election against the real API server: in-process electors (clean release, crash
 * takeover, skewed clocks), and two `controller-manager` processes where the leader is SIGKILLed
 * and the standby takes over without duplicating work.
 * @module
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../cli/commands.ts";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { Client, R } from "../control/api/client.ts";
import { LeaderElector } from "../control/api/leader.ts";
import type { KubeObject } from "../control/api/types.ts";
import { startControlPlane } from "../control/mod.ts";
import { ROOT, tempDir } from "./harness.ts";

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function controlPlane() {
  const kv = await Deno.openKv(":memory:");
  const cp = await startControlPlane({ kv, port: 0 });
  return {
    url: cp.url,
    client: new Client({ server: cp.url }),
    async [Symbol.asyncDispose]() {
      await cp.close();
      kv.close();
    },
  };
}

const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };
const HOUR = 3_600_000;

/** Runs an elector in the background; `leading` says whether its callback is running. */
function campaign(
  client: Client,
  identity: string,
  extra: Partial<ConstructorParameters<typeof LeaderElector>[1]> = {},
) {
  const ac = new AbortController();
  const state = { leading: false, terms: 0 };
  const elector = new LeaderElector(client, {
    namespace: "kube-system",
    name: "test-lock",
    identity,
    ...TIMING,
    ...extra,
  });
  const done = elector.run(ac.signal, async (leading) => {
    state.leading = true;
    state.terms++;
    await new Promise<void>((r) => leading.addEventListener("abort", () => r(), { once: true }));
    state.leading = false;
  });
  return { state, stop: async () => (ac.abort(), await done), done };
}

Deno.test("a standby takes over at once when the leader releases the lease on shutdown, despite skewed clocks", async () => {
  await using cp = await controlPlane();
  // Clocks two hours apart: expiry is judged by each candidate's own observations.
  const a = campaign(cp.client, "a", { now: () => Date.now() + HOUR });
  await eventually("a to lead", () => a.state.leading);
  const b = campaign(cp.client, "b", { now: () => Date.now() - HOUR });
  await new Promise((r) => setTimeout(r, TIMING.leaseDurationMs + 500));
  assert.equal(b.state.leading, false, "b must not lead while a renews");
  const t = Date.now();
  await a.stop();
  await eventually("b to lead", () => b.state.leading);
  assert.ok(Date.now() - t < 1_500, `took over in ${Date.now() - t} ms`);
  const lease = await cp.client.get<KubeObject>(R.leases, "kube-system", "test-lock");
  assert.equal(lease.spec.holderIdentity, "b");
  assert.equal(lease.spec.leaseTransitions, 1);
  assert.equal(lease.spec.leaseDurationSeconds, 2);
  await b.stop();
  const released = await cp.client.get<KubeObject>(R.leases, "kube-system", "test-lock");
  assert.deepEqual([released.spec.holderIdentity, released.spec.leaseDurationSeconds], ["", 1]);
});

Deno.test("a standby takes over a crashed leader's lease only after the lease duration", async () => {
  await using cp = await controlPlane();
  const a = campaign(cp.client, "a", { releaseOnCancel: false });
  await eventually("a to lead", () => a.state.leading);
  const b = campaign(cp.client, "b");
  await new Promise((r) => setTimeout(r, 500));
  const t = Date.now();
  await a.stop(); // stops renewing without releasing: a crash, as far as b can tell
  await eventually("b to lead", () => b.state.leading, 10_000);
  const waited = Date.now() - t;
  assert.ok(waited >= TIMING.leaseDurationMs - TIMING.retryPeriodMs * 2, `took over after ${waited} ms`);
  assert.ok(waited <= TIMING.leaseDurationMs + 1_500, `took over after ${waited} ms`);
  await b.stop();
});

Deno.test("a leader that cannot renew within the deadline stops leading", async () => {
  await using cp = await controlPlane();
  const a = campaign(cp.client, "a");
  await eventually("a to lead", () => a.state.leading);
  // Someone else grabs the lease behind a's back: a's renewals now conflict.
  const lease = await cp.client.get<KubeObject>(R.leases, "kube-system", "test-lock");
  await cp.client.update(R.leases, { ...lease, spec: { ...lease.spec, holderIdentity: "intruder" } });
  await eventually("a to step down", () => !a.state.leading, 5_000);
  await a.stop();
});

// ---------------------------------------------------------------------------------------------
// Two controller-manager processes.

/** The argv that runs `./skiff controller-manager` (through an entry script until the command table lists it). */
function managerCommand(args: string[]): Deno.Command {
  if (COMMANDS.some((c) => c.name === "controller-manager")) {
    return new Deno.Command(`${ROOT}/skiff`, {
      args: ["controller-manager", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  }
  const entry = [
    'import { main } from "./cli/main.ts";',
    'import { COMMANDS } from "./cli/commands.ts";',
    'import { controllerManagerCommand } from "./cli/controller_manager.ts";',
    'Deno.exit(await main(["controller-manager", ...Deno.args], [...COMMANDS, controllerManagerCommand]));',
  ].join("\n");
  return new Deno.Command(`${ROOT}/node_modules/.bin/deno`, {
    args: ["eval", entry, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
}

function spawnManager(kubeconfig: string, identity: string) {
  const child = managerCommand([
    "--kubeconfig",
    kubeconfig,
    "--identity",
    identity,
    "--leader-elect-lease-duration",
    "4s",
    "--leader-elect-renew-deadline",
    "3s",
    "--leader-elect-retry-period",
    "500ms",
  ]).spawn();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  return {
    identity,
    child,
    log: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      await reading;
      return status;
    },
  };
}

Deno.test("when the leading controller-manager process is killed, the standby takes over within 15 s without duplicating work", async () => {
  await using cp = await controlPlane();
  await using dir = await tempDir();
  const kubeconfig = `${dir.path}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const { client } = cp;
  const managers = [spawnManager(kubeconfig, "cm-a"), spawnManager(kubeconfig, "cm-b")];
  try {
    const leader = await eventually("a leader", async () => {
      const l = await client.tryGet<KubeObject>(R.leases, "kube-system", "kube-controller-manager");
      return l?.spec?.holderIdentity || undefined;
    }, 60_000);
    const active = managers.find((m) => m.identity === leader)!;
    const standby = managers.find((m) => m.identity !== leader)!;

    // Work for the leader: a ReplicaSet, a Service (slices), a namespace (ServiceAccount).
    await client.create(R.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "app", image: "example/app" }] },
        },
      },
    });
    await client.create(R.services, {
      metadata: { name: "web", namespace: "default" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    });
    const pods = () => client.list(R.pods, "default", { labelSelector: "app=web" }).then((l) => l.items);
    const slices = () =>
      client.list(R.endpointslices, "default", { labelSelector: "kubernetes.io/service-name=web" }).then((
        l,
      ) => l.items);
    await eventually(
      "three pods and one slice",
      async () => (await pods()).length === 3 && (await slices()).length === 1,
      30_000,
    );

    const killedAt = Date.now();
    await active.stop("SIGKILL");
    const next = await eventually("the standby to hold the lease", async () => {
      const l = await client.get<KubeObject>(R.leases, "kube-system", "kube-controller-manager");
      return l.spec.holderIdentity === standby.identity ? l : undefined;
    }, 20_000);
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 15_000, `the standby took over after ${tookOver} ms`);
    assert.ok(next.spec.leaseTransitions >= 1);

    // The new leader works (a new namespace gets its ServiceAccount) and duplicates nothing.
    await client.create(R.namespaces, { metadata: { name: "after" } });
    await eventually(
      "the new leader to act",
      async () => !!(await client.tryGet(R.serviceaccounts, "after", "default")),
      20_000,
    );
    const rs = await client.get<KubeObject>(R.replicasets, "default", "web");
    await client.update(R.replicasets, { ...rs, spec: { ...rs.spec, replicas: 4 } });
    await eventually("four pods", async () => (await pods()).length === 4, 20_000);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await pods()).length, 4, "no duplicate pods");
    assert.equal((await slices()).length, 1, "no duplicate endpoint slices");
    assert.match(standby.log(), /new leader elected: cm-b|new leader elected: cm-a/);
  } finally {
    for (const m of managers) await m.stop();
  }
});
