import assert from "node:assert/strict";
import { COMMANDS } from "../cli/commands.ts";
import {
  type ClusterProcess,
  kubectlTest,
  ROOT,
  startCluster,
  startClusterProcess,
  tempDir,
} from "./harness.ts";

/** Runs `./skiff` from `cwd` (default: a folder outside the repository). */
async function skiff(args: string[], cwd = "/tmp") {
  const out = await new Deno.Command(`${ROOT}/skiff`, { args, cwd, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("./skiff help describes every command and flag, from any working directory", async () => {
  const r = await skiff(["help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const c of COMMANDS) {
    assert.match(r.stdout, new RegExp(`^  ${c.name}\\b`, "m"));
    for (const f of c.flags) assert.ok(r.stdout.includes(`--${f.name}`), `--${f.name}`);
  }
  assert.equal((await skiff([])).stdout, r.stdout);
});

Deno.test("./skiff <command> --help describes that command's flags", async () => {
  const r = await skiff(["up", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: \.\/skiff up \[flags\]/);
  for (const flag of ["--data-dir DIR", "--port N", "--no-node", "--help"]) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  assert.equal((await skiff(["help", "up"])).stdout, r.stdout);
});

Deno.test("./skiff node join --help describes the join, also as node-join and help node join", async () => {
  const r = await skiff(["node", "join", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: \.\/skiff node join \[flags\]/);
  assert.ok(r.stdout.includes("--token ID.SECRET"));
  assert.equal((await skiff(["node-join", "--help"])).stdout, r.stdout);
  assert.equal((await skiff(["help", "node", "join"])).stdout, r.stdout);
});

Deno.test("./skiff plugin build and push report a broken source or an unreachable registry in one line", async () => {
  await using dir = await tempDir();
  const created = await skiff(["plugin", "new", "admission", "broken"], dir.path);
  const valid = await Deno.readTextFile(`${dir.path}/broken/plugin.ts`);
  assert.equal(created.code, 0, created.stderr);
  await Deno.writeTextFile(`${dir.path}/broken/plugin.ts`, "this is not typescript {{{\n");
  const built = await skiff(["plugin", "build", "broken"], dir.path);
  assert.equal(built.code, 1);
  assert.match(built.stderr, /^skiff: the build failed: .*plugin\.ts failed/);
  assert.doesNotMatch(built.stderr, /at .*cli\/plugin\.ts/);
  await Deno.writeTextFile(`${dir.path}/broken/plugin.ts`, valid);
  const pushed = await skiff(["plugin", "push", "127.0.0.1:1/x/y:1", "broken"], dir.path);
  assert.equal(pushed.code, 1);
  assert.match(pushed.stderr, /^skiff: cannot push 127\.0\.0\.1:1\/x\/y:1: /);
});

Deno.test("./skiff with an unknown command prints one line and exits 2", async () => {
  const r = await skiff(["frobnicate"]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.deepEqual(lines(r.stderr), [`skiff: unknown command "frobnicate"; see ./skiff help`]);
});

Deno.test("./skiff up with an unknown flag or a missing value prints one line and exits 2", async () => {
  const unknown = await skiff(["up", "--foo"]);
  assert.equal(unknown.code, 2);
  assert.deepEqual(lines(unknown.stderr), [`skiff: unknown flag --foo for "up"; see ./skiff up --help`]);
  const missing = await skiff(["up", "--port"]);
  assert.equal(missing.code, 2);
  assert.deepEqual(lines(missing.stderr), [
    `skiff: flag --port for "up" needs a value; see ./skiff up --help`,
  ]);
});

Deno.test("./skiff version prints the version", async () => {
  const r = await skiff(["version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^skiff [0-9]+\.[0-9]+\.[0-9]+ \(deno 2\./);
});

kubectlTest(
  "./skiff up prints the server and kubeconfig lines, and kubectl get ns works against it",
  async () => {
    await using cluster = await startClusterProcess();
    assert.deepEqual(cluster.stdoutLines(), [`server: ${cluster.url}`, `kubeconfig: ${cluster.kubeconfig}`]);
    assert.match(cluster.url, /^https:\/\/127\.0\.0\.1:[0-9]+$/);
    assert.equal(cluster.kubeconfig, `${cluster.dataDir}/kubeconfig`);
    const r = await cluster.kubectl(["get", "ns"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^default\s/m);
  },
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} stops ./skiff up with exit code 0 and leaves no process or listener behind`, async () => {
    await using dir = await tempDir();
    const cluster = await startClusterProcess({ dataDir: dir.path });
    try {
      assert.deepEqual(cluster.processes(), [cluster.pid]);
      const res = await cluster.fetch("/version");
      await res.body?.cancel();
      cluster.kill(signal);
      const status = await cluster.exited;
      assert.equal(status.code, 0, cluster.stderr());
      await waitFor("no process left", () => cluster.processes().length === 0);
      await assert.rejects(cluster.fetch("/version"), TypeError);
      assert.equal(await Deno.readTextFile(`${dir.path}/skiff.lock`), "");
      assert.deepEqual(cluster.stdoutLines(), [
        `server: ${cluster.url}`,
        `kubeconfig: ${cluster.kubeconfig}`,
      ]);
    } finally {
      await cluster.close();
    }
  });
}

kubectlTest("./skiff up without --no-node runs a node agent whose Node is Ready, with the wasm RuntimeClass", async () => {
  await using cluster = await startClusterProcess({ node: true, readyTimeoutMs: 60_000 });
  assert.equal(cluster.stdoutLines().length, 2);
  let nodes = "";
  for (let i = 0; i < 60 && !/\sReady\s/.test(nodes); i++) {
    nodes = (await cluster.kubectl(["get", "nodes", "--no-headers"])).stdout;
    if (!/\sReady\s/.test(nodes)) await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(nodes, /\sReady\s/, `no Ready node: ${nodes}\n${cluster.stderr()}`);
  const rc = await cluster.kubectl(["get", "runtimeclass", "wasm", "-o", "jsonpath={.handler}"]);
  assert.equal(rc.stdout, "wasm", rc.stderr);
  // The node waited for the pod CIDR the controller manager's node IPAM controller assigned.
  const cidr = await cluster.kubectl(["get", "nodes", "-o", "jsonpath={.items[0].spec.podCIDR}"]);
  assert.match(cidr.stdout, /^198\.18\.\d+\.0\/22$/, cidr.stderr);
});

kubectlTest("./skiff up on the same data dir resumes its state after SIGTERM and after SIGKILL", async () => {
  await using dir = await tempDir();
  const create = async (cluster: ClusterProcess, name: string) => {
    const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: yaml });
    assert.equal(r.code, 0, r.stderr);
  };
  const get = async (name: string) => {
    await using cluster = await startClusterProcess({ dataDir: dir.path });
    const r = await cluster.kubectl(["get", "configmap", name, "-o", "jsonpath={.data.k}"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "v");
  };

  {
    await using first = await startClusterProcess({ dataDir: dir.path });
    await create(first, "before-sigterm");
  } // closed with SIGTERM
  await get("before-sigterm");

  await using killed = await startClusterProcess({ dataDir: dir.path });
  await create(killed, "before-sigkill");
  killed.kill("SIGKILL");
  await killed.exited;
  await using resumed = await startClusterProcess({ dataDir: dir.path });
  assert.match(
    resumed.stderr(),
    new RegExp(`previous \\./skiff up \\(pid ${killed.pid}\\) did not stop cleanly`),
  );
  const got = await resumed.kubectl(["get", "configmap", "before-sigkill", "before-sigterm", "-o", "name"]);
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(lines(got.stdout), ["configmap/before-sigkill", "configmap/before-sigterm"]);
});

Deno.test("a second ./skiff up on a data dir in use is refused with a clear message", async () => {
  await using cluster = await startClusterProcess();
  const second = await skiff(["up", "--port", "0", "--no-node", "--data-dir", cluster.dataDir]);
  assert.equal(second.code, 1);
  assert.equal(second.stdout, "");
  assert.deepEqual(lines(second.stderr), [
    `skiff: data dir ${cluster.dataDir} is in use by another ./skiff up (pid ${cluster.pid}); ` +
    `stop it first, or pass another --data-dir`,
  ]);
  const res = await cluster.fetch("/version");
  await res.body?.cancel();
  assert.equal(res.status, 200);
});

Deno.test("./skiff up --data-dir resolves against the caller's working directory", async () => {
  await using dir = await tempDir();
  const child = new Deno.Command(`${ROOT}/skiff`, {
    args: ["up", "--port", "0", "--no-node", "--data-dir", "rel"],
    cwd: dir.path,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("kubeconfig: ")) {
    const r = await reader.read();
    if (r.done) break;
    out += r.value;
  }
  child.kill("SIGTERM");
  await reader.cancel();
  assert.equal((await child.status).code, 0);
  assert.match(out, new RegExp(`^kubeconfig: ${dir.path}/rel/kubeconfig$`, "m"));
});

/** Runs a test file that declares a test needing a prerequisite that is never available. */
async function runMissingPrerequisiteTest(env: Record<string, string>) {
  await using dir = await tempDir();
  const file = `${dir.path}/prereq_test.ts`;
  await Deno.writeTextFile(
    file,
    `import { testWith } from ${JSON.stringify(new URL("./harness.ts", import.meta.url).href)};\n` +
      `testWith([{ name: "unobtainium", available: () => false, hint: "mine some" }], "needs it", () => {});\n`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", "--config", `${ROOT}/deno.json`, file],
    env: { ...env, NO_COLOR: "1" },
    cwd: ROOT,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("a test whose prerequisite is missing is skipped with a printed reason", async () => {
  const r = await runMissingPrerequisiteTest({ CI: "false" });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /skipping tests: unobtainium is missing \(mine some\)/);
  assert.match(r.output, /needs it \.\.\. ignored/);
});

Deno.test("under CI=true a test whose prerequisite is missing fails, saying what is missing", async () => {
  const r = await runMissingPrerequisiteTest({ CI: "true" });
  assert.notEqual(r.code, 0);
  assert.match(r.output, /needs it \.\.\. FAILED/);
  assert.match(r.output, /CI=true requires it: unobtainium is missing \(mine some\)/);
});

kubectlTest(
  "startCluster() serves kubectl from an in-process control plane and removes its data dir on close",
  async () => {
    const cluster = await startCluster();
    try {
      assert.match(cluster.url, /^http:\/\/127\.0\.0\.1:[0-9]+$/);
      const r = await cluster.kubectl(["get", "ns", "default", "-o", "name"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "namespace/default");
      assert.ok(
        Deno.statSync(`${cluster.dataDir}/kube-cache`).isDirectory,
        "kubectl's cache stays in the data dir",
      );
    } finally {
      await cluster.close();
    }
    await assert.rejects(Deno.stat(cluster.dataDir), Deno.errors.NotFound);
    await assert.rejects(fetch(cluster.url), TypeError);
  },
);
