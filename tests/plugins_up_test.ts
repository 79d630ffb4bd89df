/**
 * Plugins on a real `./skiff up`: the plugin host is started on demand as a supervised child
 * under its own ServiceAccount, the API server's WasmPlugins admission step and the in-process
 * scheduler's WasmPlugins plugin call it, and SIGTERM stops everything. Reuses the build cache of
 * tests/plugins_test.ts (tests/.cache/plugins) and a real registry.
 */
import assert from "node:assert/strict";
import type { PluginObject } from "../control/api/plugins.ts";
import { pushPlugin } from "../cli/plugin.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { KUBECTL, ROOT, startClusterProcess, tempDir, testWith } from "./harness.ts";
import { NODE } from "./fixtures/build.ts";
import { DOCKER_REGISTRY, startRegistry } from "./registry.ts";

const DISALLOW_LATEST = {
  kind: "admission",
  source: `${ROOT}/plugins/admission/builtin/disallow_latest/plugin.ts`,
} as const;

/** Polls `probe` every 250 ms until it returns a value, or fails after `ms` with `what` and the last state. */
async function waitFor<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
  state: () => string,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${state()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const pod = (name: string, image: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "app", image }] },
  });

testWith(
  [NODE, KUBECTL, DOCKER_REGISTRY],
  "./skiff up loads Plugins: the plugin host starts on demand, admission denies :latest, the scheduler calls it, SIGTERM stops it all",
  async () => {
    await using registry = await startRegistry();
    await using blobs = await tempDir("skiff-plugins-up-");
    const built = await buildPlugin(DISALLOW_LATEST);
    const digest = await pushPlugin(
      `${registry.host}/plugins/disallow-latest:1`,
      built.bytes,
      "admission",
      `${blobs.path}/push`,
    );
    const image = `${registry.host}/plugins/disallow-latest@${digest}`;

    await using dir = await tempDir("skiff-plugins-up-data-");
    const cluster = await startClusterProcess({ dataDir: dir.path });
    try {
      const logs = () => {
        const log = (() => {
          try {
            return Deno.readTextFileSync(`${dir.path}/logs/plugin-host.log`);
          } catch {
            return "(no plugin-host.log)";
          }
        })();
        return `up's stderr:\n${cluster.stderr()}\nplugin-host.log:\n${log}`;
      };
      // Without Plugins, up is one process.
      assert.deepEqual(cluster.processes(), [cluster.pid]);

      const plugin = {
        apiVersion: "skiff.dev/v1alpha1",
        kind: "Plugin",
        metadata: { name: "disallow-latest" },
        spec: {
          kind: "admission",
          image,
          admission: {
            rules: [{
              operations: ["CREATE", "UPDATE"],
              apiGroups: [""],
              apiVersions: ["v1"],
              resources: ["pods"],
            }],
          },
        },
      };
      const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(plugin) });
      assert.equal(applied.code, 0, applied.stderr);

      // The plugin host starts, pulls, loads and reports Loaded and Ready.
      const loaded = await waitFor("Plugin disallow-latest to be Loaded and Ready", 45_000, async () => {
        const r = await cluster.kubectl(["get", "plugin", "disallow-latest", "-o", "json"]);
        if (r.code !== 0) return undefined;
        const obj = JSON.parse(r.stdout) as PluginObject;
        const c = obj.status?.components?.find((c) => c.name === "plugin-host");
        const ok = c && c.observedGeneration === obj.metadata.generation &&
          ["Loaded", "Ready"].every((t) => c.conditions.some((x) => x.type === t && x.status === "True"));
        return ok ? c : undefined;
      }, logs);
      assert.equal(loaded.digest, digest);
      const table = await cluster.kubectl(["get", "plugin"]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /disallow-latest\s+admission\s+\S+\s+1\/1/, table.stdout);

      // The API server calls it: :latest is denied with the plugin's message, a pinned tag passes.
      const denied = await cluster.kubectl(["apply", "-f", "-"], { stdin: pod("latest", "x:latest") });
      assert.notEqual(denied.code, 0);
      assert.match(
        denied.stderr,
        /admission webhook "disallow-latest" denied the request: container "app" image "x:latest" uses the latest tag/,
        denied.stderr,
      );
      const pinned = await cluster.kubectl(["apply", "-f", "-"], { stdin: pod("pinned", "x:1.0") });
      assert.equal(pinned.code, 0, pinned.stderr);

      // It acts as its own ServiceAccount, which may write Plugin status but not, e.g., read Secrets.
      const audit = await Deno.readTextFile(`${dir.path}/logs/audit.log`);
      assert.ok(
        audit.split("\n").some((l) =>
          l.includes('"system:serviceaccount:skiff-system:plugin-host"') &&
          l.includes("/plugins/disallow-latest/status")
        ),
        "the plugin host wrote the status as skiff-system/plugin-host",
      );
      const canI = await cluster.kubectl([
        "auth",
        "can-i",
        "list",
        "secrets",
        "--as",
        "system:serviceaccount:skiff-system:plugin-host",
      ]);
      assert.equal(canI.stdout.trim(), "no", canI.stderr);

      // The in-process scheduler calls the plugin host for scheduler Plugins: one that cannot load
      // (an admission component) fails every node with failurePolicy Fail.
      const node = {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "fake-1", labels: { "kubernetes.io/hostname": "fake-1" } },
        status: {
          allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
          capacity: { cpu: "4", memory: "8Gi", pods: "110" },
          conditions: [{ type: "Ready", status: "True" }],
        },
      };
      assert.equal((await cluster.kubectl(["create", "-f", "-"], { stdin: JSON.stringify(node) })).code, 0);
      const sched = { ...plugin, metadata: { name: "wrong-kind" }, spec: { kind: "scheduler", image } };
      const s = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(sched) });
      assert.equal(s.code, 0, s.stderr);
      const message = await waitFor(
        "pod pinned to report the scheduler Plugin's failure",
        30_000,
        async () => {
          const r = await cluster.kubectl([
            "get",
            "pod",
            "pinned",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='PodScheduled')].message}",
          ]);
          return /wrong-kind failed/.test(r.stdout) ? r.stdout : undefined;
        },
        logs,
      );
      assert.match(message, /wrong-kind failed: /);

      // SIGTERM stops up, the plugin host and its runners.
      assert.ok(cluster.processes().length >= 3, `up, the plugin host and a runner: ${cluster.processes()}`);
      cluster.kill("SIGTERM");
      const status = await cluster.exited;
      assert.equal(status.code, 0, cluster.stderr());
      await waitFor(
        "no process left",
        10_000,
        () => Promise.resolve(cluster.processes().length === 0 || undefined),
        () => `left: ${cluster.processes()}`,
      );
      assert.equal(await Deno.readTextFile(`${dir.path}/skiff.lock`), "");
    } finally {
      await cluster.close();
    }

    // Restarted on the same data dir, up starts the plugin host at once for the stored Plugins.
    const again = await startClusterProcess({ dataDir: dir.path });
    try {
      const r = await waitFor("the stored Plugin to deny :latest after a restart", 30_000, async () => {
        const r = await again.kubectl(["apply", "-f", "-"], { stdin: pod("latest-again", "x:latest") });
        assert.notEqual(r.code, 0, "a :latest pod was admitted after the restart");
        return /denied the request/.test(r.stderr) ? r.stderr : undefined;
      }, () => again.stderr());
      assert.match(
        r,
        /admission webhook "disallow-latest" denied the request: container "app" image "x:latest"/,
      );
      again.kill("SIGINT");
      assert.equal((await again.exited).code, 0, again.stderr());
      await waitFor(
        "no process left after SIGINT",
        10_000,
        () => Promise.resolve(again.processes().length === 0 || undefined),
        () => `left: ${again.processes()}`,
      );
    } finally {
      await again.close();
    }
  },
);
