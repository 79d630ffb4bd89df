import assert from "node:assert/strict";
import { fromKubeconfig, parseDuration } from "./controller_manager.ts";
import { kubeconfigFor } from "./kubeconfig.ts";

Deno.test("parseDuration() reads Go durations", () => {
  assert.equal(parseDuration("15s"), 15_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("0"), 0);
  assert.throws(() => parseDuration("15"), /invalid duration/);
  assert.throws(() => parseDuration("soon"), /invalid duration/);
});

Deno.test("fromKubeconfig() reads the current context's server and token", () => {
  assert.deepEqual(fromKubeconfig(kubeconfigFor("http://127.0.0.1:6443")), {
    server: "http://127.0.0.1:6443",
  });
  const cfg = {
    "current-context": "b",
    contexts: [{ name: "a", context: { cluster: "x", user: "u" } }, {
      name: "b",
      context: { cluster: "y", user: "v" },
    }],
    clusters: [{ name: "x", cluster: { server: "http://x" } }, {
      name: "y",
      cluster: { server: "https://y" },
    }],
    users: [{ name: "v", user: { token: "t0k" } }],
  };
  assert.deepEqual(fromKubeconfig(cfg), { server: "https://y", token: "t0k" });
  assert.throws(() => fromKubeconfig({}), /no current context/);
});

Deno.test("the controller-manager and simulate-nodes commands parse their flags with upstream-like defaults", async () => {
  const { parseCommandArgs } = await import("./args.ts");
  const { controllerManagerCommand } = await import("./controller_manager.ts");
  const { simulateNodesCommand } = await import("./simulate_nodes.ts");
  const cm = parseCommandArgs(controllerManagerCommand, [
    "--server",
    "http://x",
    "--leader-elect-lease-duration=4s",
  ]);
  assert.equal(cm.kind, "run");
  if (cm.kind !== "run") return;
  assert.equal(cm.flags.server, "http://x");
  assert.equal(cm.flags["leader-elect-lease-duration"], "4s");
  assert.equal(cm.flags["leader-elect-renew-deadline"], "10s");
  assert.equal(cm.flags["node-monitor-grace-period"], "50s");
  // The default tolerations are the API server's (--default-*-toleration-seconds), not ours.
  assert.ok(!controllerManagerCommand.flags.some((f) => f.name === "default-toleration-seconds"));
  assert.equal(cm.flags.controllers, "*");
  const sim = parseCommandArgs(simulateNodesCommand, [
    "--kubeconfig",
    "k",
    "--count",
    "5000",
    "--ready-delay",
    "250",
    "--name-prefix",
    "n-",
  ]);
  assert.equal(sim.kind, "run");
  if (sim.kind !== "run") return;
  assert.deepEqual([sim.flags.count, sim.flags["ready-delay"], sim.flags["name-prefix"]], [5000, 250, "n-"]);
  assert.equal(parseCommandArgs(simulateNodesCommand, ["--count", "-1"]).kind, "error");
});

Deno.test("the controller-manager command refuses --controllers names it does not know, before connecting", async () => {
  const { controllerManagerCommand } = await import("./controller_manager.ts");
  const { CliError } = await import("./errors.ts");
  const { COMMANDS } = await import("./commands.ts");
  const run = (controllers: string) =>
    controllerManagerCommand.run({
      root: "/",
      cwd: "/",
      flags: { server: "http://127.0.0.1:1", controllers, "leader-elect": "true" },
      args: [],
      commands: COMMANDS,
    });
  await assert.rejects(
    run("*,-namespace,job-controller"),
    (e) =>
      e instanceof CliError && e.exitCode === 2 &&
      /"namespace" is not in the list of known controllers/.test(e.message),
  );
});
