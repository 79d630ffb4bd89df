import assert from "node:assert/strict";
import { CliError } from "./errors.ts";
import { ensureDebianPackages, type InstallIO, planInstall, systemInstallIO } from "./install.ts";

function fakeIO(opts: { root: boolean; installed: string[]; failOn?: string }) {
  const installed = new Set(opts.installed);
  const calls: string[][] = [];
  const logs: string[] = [];
  const io: InstallIO = {
    isRoot: () => opts.root,
    installed: (pkg) => Promise.resolve(installed.has(pkg)),
    run(argv) {
      calls.push(argv);
      if (argv[1] === opts.failOn) return Promise.resolve(100);
      if (argv[1] === "install") { for (const p of argv.slice(4)) installed.add(p); }
      return Promise.resolve(0);
    },
    log: (line) => logs.push(line),
  };
  return { io, calls, logs };
}

Deno.test("planInstall() does nothing when nothing is missing, even as non-root", () => {
  assert.deepEqual(planInstall([], { root: false, aptUpdated: false }), { kind: "nothing" });
});

Deno.test("planInstall() runs apt-get update once, then installs only the missing packages", () => {
  assert.deepEqual(planInstall(["crun", "conmon"], { root: true, aptUpdated: false }), {
    kind: "install",
    missing: ["crun", "conmon"],
    commands: [["apt-get", "update"], [
      "apt-get",
      "install",
      "-y",
      "--no-install-recommends",
      "crun",
      "conmon",
    ]],
  });
  const again = planInstall(["crun"], { root: true, aptUpdated: true });
  assert.deepEqual(again.kind === "install" && again.commands, [[
    "apt-get",
    "install",
    "-y",
    "--no-install-recommends",
    "crun",
  ]]);
});

Deno.test("planInstall() refuses as non-root, naming the packages and the command to run", () => {
  const plan = planInstall(["crun"], { root: false, aptUpdated: false });
  assert.equal(plan.kind, "refuse");
  assert.match(
    plan.kind === "refuse" ? plan.message : "",
    /missing Debian packages: crun\. .*apt-get install -y --no-install-recommends crun/,
  );
});

Deno.test("ensureDebianPackages() as root says what it installs and updates apt only once per process", async () => {
  const { io, calls, logs } = fakeIO({ root: true, installed: ["conmon"] });
  const state = { aptUpdated: false };
  await ensureDebianPackages(["crun", "conmon"], { io, state });
  await ensureDebianPackages(["skopeo"], { io, state });
  await ensureDebianPackages(["crun", "skopeo"], { io, state });
  assert.deepEqual(calls.map((c) => c.slice(0, 2).concat(c.slice(4))), [
    ["apt-get", "update"],
    ["apt-get", "install", "crun"],
    ["apt-get", "install", "skopeo"],
  ]);
  assert.deepEqual(logs, [
    "skiff: installing Debian packages crun (apt-get)...",
    "skiff: installing Debian packages skopeo (apt-get)...",
  ]);
});

Deno.test("ensureDebianPackages() as non-root fails with exit code 1 and installs nothing", async () => {
  const { io, calls } = fakeIO({ root: false, installed: [] });
  await assert.rejects(ensureDebianPackages(["crun"], { io, state: { aptUpdated: false } }), (e) => {
    assert.ok(e instanceof CliError);
    assert.equal(e.exitCode, 1);
    assert.match(e.message, /crun/);
    return true;
  });
  assert.deepEqual(calls, []);
});

Deno.test("ensureDebianPackages() reports a failing apt-get with its exit code", async () => {
  const { io } = fakeIO({ root: true, installed: [], failOn: "install" });
  await assert.rejects(
    ensureDebianPackages(["crun"], { io, state: { aptUpdated: false } }),
    /apt-get install failed with exit code 100/,
  );
});

Deno.test("ensureDebianPackages() with no packages never looks at the machine", async () => {
  const io = {
    ...fakeIO({ root: false, installed: [] }).io,
    installed: () => Promise.reject(new Error("queried")),
  };
  await ensureDebianPackages([], { io });
});

Deno.test("systemInstallIO.installed() tells an installed package from a missing one with dpkg-query", async () => {
  assert.equal(await systemInstallIO.installed("dpkg"), true);
  assert.equal(await systemInstallIO.installed("skiff-no-such-package"), false);
});
