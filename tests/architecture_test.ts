/**
 * Architecture rules, checked on the code itself:
 * - the control plane (everything `control/deploy.ts` loads) uses only `Deno.serve`, `Deno.openKv`,
 *   timers and `Deno.cron`: no subprocesses, no local files, no KV queues — so it runs on Deno Deploy;
 * - the dependency rule: `control` never imports `node`; `wasm` imports nothing else of ours;
 *   `node` imports only `control/api` from the control plane; `plugins` imports only `wasm` and
 *   `control/api` (never `node`, `cli` or the rest of `control`: what a component bundles lives
 *   under `plugins/`).
 */
import assert from "node:assert/strict";
import { ROOT } from "./harness.ts";

interface ModuleInfo {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string } }[];
}

async function localModules(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${ROOT}/deno.json`, entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: ModuleInfo[] };
  return info.modules
    .map((m) => m.specifier)
    .filter((s) => s.startsWith(`file://${ROOT}/`) && !s.includes("/node_modules/"))
    .map((s) => decodeURIComponent(s.slice(`file://${ROOT}/`.length)));
}

const FORBIDDEN: [RegExp, string][] = [
  [/\bDeno\.(Command|run)\b/, "starts a subprocess"],
  [/\bDeno\.(readFile|readTextFile|writeFile|writeTextFile|open|create|mkdir|makeTemp\w*|remove|readDir|stat|lstat)\b/, "uses local files"],
  [/\bkv\.enqueue\(|\.listenQueue\(/i, "uses KV queues"],
  [/from "node:(fs|child_process|fs\/promises)"/, "uses local files or subprocesses"],
];

/** Removes block and line comments (examples in JSDoc are not code). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

Deno.test("the control plane uses only Deno.serve, Deno.openKv, timers and Deno.cron (it runs on Deno Deploy)", async () => {
  const modules = await localModules("control/deploy.ts");
  assert.ok(modules.some((m) => m.startsWith("control/apiserver/")), "the module graph was not read");
  const problems: string[] = [];
  for (const m of modules) {
    const text = stripComments(await Deno.readTextFile(`${ROOT}/${m}`));
    for (const [re, why] of FORBIDDEN) {
      const match = text.match(re);
      if (match) problems.push(`${m} ${why}: ${match[0]}`);
    }
    if (!m.startsWith("control/")) problems.push(`${m} is outside control/ but loaded by the control plane`);
  }
  assert.deepEqual(problems, []);
});

async function* sources(dir: string): AsyncGenerator<string> {
  try {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) yield* sources(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)]
    .map((m) => m[1] ?? m[2]);
}

function resolveFrom(file: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const url = new URL(spec, `file:///${file}`);
  return decodeURIComponent(url.pathname.slice(1));
}

Deno.test("the dependency rule holds: control ↛ node, wasm ↛ anything of ours, node → only control/api, plugins → only wasm and control/api", async () => {
  const problems: string[] = [];
  for (const top of ["control", "wasm", "node", "plugins"]) {
    for await (const file of sources(top)) {
      for (const spec of importsOf(await Deno.readTextFile(`${ROOT}/${file}`))) {
        const target = resolveFrom(file, spec);
        if (!target) continue;
        if (top === "control" && target.startsWith("node/")) problems.push(`${file} imports ${target}`);
        if (top === "wasm" && !target.startsWith("wasm/")) problems.push(`${file} imports ${target}`);
        if (top === "node" && target.startsWith("control/") && !target.startsWith("control/api/")) {
          problems.push(`${file} imports ${target}`);
        }
        if (
          top === "plugins" && !target.startsWith("plugins/") && !target.startsWith("wasm/") &&
          !target.startsWith("control/api/")
        ) problems.push(`${file} imports ${target}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
