/**
 * Authoring node-side plugins end to end, through the real command line: `./skiff plugin new
 * <kind> <name>` scaffolds a folder (plugin.ts, plugin.yaml, plugin_test.ts, wit/, types/; a
 * runtime plugin also oci/), `./skiff plugin build` makes the component, and `./skiff plugin
 * test` passes the kind's whole conformance suite against it, in the environment a node gives
 * the kind (runtime: real crun, conmon and a registry; network: a real bridge and namespaces;
 * storage: real bind mounts; ipam: a runner with a state store).
 */
import assert from "node:assert/strict";
import type { PluginKind } from "../control/api/plugins.ts";
import { OCI_PREREQUISITES } from "../node/cri/oci/testing.ts";
import { SUITES } from "../plugins/host/conformance.ts";
import { NODE } from "./fixtures/build.ts";
import { type Prerequisite, ROOT, tempDir, testWith } from "./harness.ts";
import { NODE_PRIVILEGES } from "./network_harness.ts";

const ROOT_USER: Prerequisite = {
  name: "root",
  available: () => Deno.uid() === 0,
  hint: "run as root (the suite makes bind mounts)",
};

/** Runs `./skiff` in `cwd`; the output, both streams, and the exit code. */
async function skiff(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(`${ROOT}/skiff`, { args, cwd, stdin: "null" }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout) + d.decode(r.stderr) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

const NODE_KINDS: { kind: PluginKind; needs: Prerequisite[] }[] = [
  { kind: "runtime", needs: [NODE, ...OCI_PREREQUISITES] },
  { kind: "network", needs: [NODE, NODE_PRIVILEGES] },
  { kind: "ipam", needs: [NODE] },
  { kind: "storage", needs: [NODE, ROOT_USER] },
];

for (const { kind, needs } of NODE_KINDS) {
  testWith(
    needs,
    `./skiff plugin new ${kind} → build → test: the scaffold passes the ${kind} conformance suite`,
    async () => {
      await using dir = await tempDir("skiff-authoring-");
      const name = `my-${kind}`;
      const created = await skiff(["plugin", "new", kind, name], dir.path);
      assert.equal(created.code, 0, created.out);
      for (const f of ["plugin.ts", "plugin.yaml", "plugin_test.ts", "wit", "types"]) {
        assert.ok(await exists(`${dir.path}/${name}/${f}`), `the scaffold has no ${f}`);
      }
      if (kind === "runtime") assert.ok(await exists(`${dir.path}/${name}/oci/spec.ts`), "no oci/ helpers");
      const built = await skiff(["plugin", "build", name], dir.path);
      assert.equal(built.code, 0, built.out);
      assert.match(built.out, /plugin\.wasm sha256:[0-9a-f]{64}/);
      const tested = await skiff(["plugin", "test", name], dir.path);
      assert.equal(tested.code, 0, tested.out);
      // The kind's whole suite (network adds its host-bounds case), none failed.
      const passed = Number(tested.out.match(/(\d+) passed, 0 failed/)?.[1] ?? -1);
      assert.ok(passed >= SUITES[kind].length, tested.out);
    },
  );
}

testWith(
  [NODE],
  "./skiff plugin test fails a scaffolded ipam plugin that hands every attachment the same address",
  async () => {
    await using dir = await tempDir("skiff-authoring-");
    assert.equal((await skiff(["plugin", "new", "ipam", "broken"], dir.path)).code, 0);
    const file = `${dir.path}/broken/plugin.ts`;
    const source = await Deno.readTextFile(file);
    // Forget every allocation: the next ADD gets the address the previous one got.
    const broken = source.replace(/\nexport const ipam = \{/, "\nconst forget = () => { for (const k of listKeys(\"\")) remove(k); };\nexport const ipam = {")
      .replace(/add\(([^)]*)\)(: [^{]+)\{/, "add($1)$2{\n    forget();");
    assert.notEqual(broken, source, "the template changed shape: update this test");
    await Deno.writeTextFile(file, broken);
    const tested = await skiff(["plugin", "test", "broken"], dir.path);
    assert.equal(tested.code, 1, tested.out);
    assert.match(tested.out, /FAIL two attachments get different addresses/);
  },
);
