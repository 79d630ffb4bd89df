/**
 * Building plugin components from source, the way `./skiff plugin build`, the built-ins and the
 * tests do: TypeScript or JavaScript is bundled (`deno bundle`, host imports left external) and
 * componentized with jco's QuickJS backend against the kind's world; C is compiled with Debian's
 * clang for wasm32, given the world's type section (`jco embed`) and made a component (`jco new`):
 * freestanding (no libc, so no WASI imports at all) unless the source includes a libc header
 * (`#include <...>`), in which case it is built against wasi-libc as a WASI reactor and adapted
 * with jco's reactor adapter (`jco new --wasi-reactor`). Builds are cached by a hash of
 * everything that goes into them.
 *
 * @example
 * ```ts ignore
 * const { bytes, digest } = await buildPlugin({ kind: "admission", source: "plugin.ts", cacheDir: ".cache" });
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { relative } from "node:path";
import type { PluginKind } from "../../control/api/plugins.ts";
import { assembleWit, KINDS, PLUGINS_DIR } from "./kinds.ts";
import { localModuleGraph } from "./source_graph.ts";

const ROOT = PLUGINS_DIR.replace(/\/plugins$/, "");
const JCO = `${ROOT}/node_modules/@bytecodealliance/jco/dist/jco.js`;
const PREOPEN = `${PLUGINS_DIR}/host/jco_preopen.mjs`;

/** What to build. */
export interface BuildOptions {
  kind: PluginKind;
  /** A `.ts`/`.js` entry (QuickJS) or a `.c` file (clang). */
  source: string;
  /** Where to write the component (default: only the cache). */
  out?: string;
  /** Cache folder (default `<repo>/tests/.cache/plugins`). */
  cacheDir?: string;
  /** The kind's WIT folder to build against (default the current version's `plugins/<kind>/wit`). */
  wit?: string;
}

/** A built component. */
export interface BuiltPlugin {
  path: string;
  bytes: Uint8Array;
  digest: string;
  /** False when it came from the cache. */
  built: boolean;
}

/** Thrown when a tool fails; the message carries its output. */
export class BuildError extends Error {
  override name = "BuildError";
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  let r: Deno.CommandOutput;
  try {
    r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new BuildError(`could not run ${cmd}: ${(e as Error).message}`);
  }
  if (!r.success) {
    const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
    throw new BuildError(`${cmd} ${args.join(" ")} failed (exit ${r.code}):\n${text.slice(-3000)}`);
  }
}

/** Runs jco under Node with the preopen fix (research/kvwasm.md §3.1). */
export function jco(args: string[], cwd: string): Promise<void> {
  return run("node", ["--import", PREOPEN, JCO, ...args], cwd);
}

async function hashInputs(opts: BuildOptions): Promise<string> {
  const h = createHash("sha256").update(opts.kind);
  const dir = opts.source.replace(/\/[^/]*$/, "");
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isFile && /\.(ts|js|c|h|wit)$/.test(e.name) && !e.name.endsWith("_test.ts")) {
      h.update(e.name).update(await Deno.readFile(`${dir}/${e.name}`));
    }
  }
  // The entry's name, not its folder: the same sources build the same component wherever they are.
  h.update(opts.source.split("/").pop()!);
  // Modules outside the folder that the entry imports (the crun plugin's plugins/runtime/oci/*.ts),
  // named relative to the folder for the same reason.
  if (!opts.source.endsWith(".c")) {
    for (const f of await localModuleGraph(opts.source)) {
      if (!f.startsWith(`${dir}/`)) h.update(relative(dir, f)).update(await Deno.readFile(f));
    }
  }
  const c = KINDS[opts.kind];
  for (const f of [opts.wit ?? `${PLUGINS_DIR}/${c.dir}/wit`, `${PLUGINS_DIR}/host/wit`]) {
    for (const e of [...Deno.readDirSync(f)].sort((a, b) => a.name.localeCompare(b.name))) {
      h.update(await Deno.readFile(`${f}/${e.name}`));
    }
  }
  h.update(await Deno.readFile(new URL(import.meta.url)));
  for (const pkg of ["jco", "componentize-js", "jco-transpile"]) {
    h.update(
      await Deno.readFile(`${ROOT}/node_modules/@bytecodealliance/${pkg}/package.json`).catch(() =>
        new Uint8Array()
      ),
    );
  }
  return h.digest("hex").slice(0, 16);
}

/** Builds a plugin component (or takes it from the cache). */
export async function buildPlugin(opts: BuildOptions): Promise<BuiltPlugin> {
  const source = opts.source.startsWith("/") ? opts.source : `${Deno.cwd()}/${opts.source}`;
  const o = { ...opts, source };
  const cacheDir = opts.cacheDir ?? `${ROOT}/tests/.cache/plugins`;
  await Deno.mkdir(cacheDir, { recursive: true });
  const base = source.split("/").slice(-2).join("-").replace(/\.[a-z]+$/, "").replace(/[^a-zA-Z0-9_-]/g, "_");
  const cached = `${cacheDir}/${base}-${await hashInputs(o)}.wasm`;
  let built = false;
  if (!exists(cached)) {
    const tmp = await Deno.makeTempDir({ dir: cacheDir, prefix: ".build-" });
    try {
      await assembleWit(o.kind, `${tmp}/wit`, o.wit);
      if (source.endsWith(".c")) await buildC(o, tmp);
      else await buildJs(o, tmp);
      await Deno.rename(`${tmp}/out.wasm`, cached);
      built = true;
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  const bytes = await Deno.readFile(cached);
  if (opts.out) await Deno.writeFile(opts.out, bytes);
  return {
    path: opts.out ?? cached,
    bytes,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    built,
  };
}

async function buildJs(o: BuildOptions, tmp: string): Promise<void> {
  const js = `${tmp}/plugin.js`;
  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--no-lock",
    "--external",
    "skiff:*",
    "--external",
    "wasi:*",
    "-o",
    js,
    o.source,
  ], tmp);
  await jco([
    "componentize",
    js,
    "--wit",
    `${tmp}/wit`,
    "-n",
    KINDS[o.kind].world,
    "--backend",
    "qjs",
    "-o",
    `${tmp}/out.wasm`,
  ], tmp);
}

async function buildC(o: BuildOptions, tmp: string): Promise<void> {
  if (/^\s*#\s*include\s*</m.test(await Deno.readTextFile(o.source))) return await buildCWithLibc(o, tmp);
  await run("clang", [
    "--target=wasm32",
    "-O2",
    "-nostdlib",
    "-ffreestanding",
    "-Wl,--no-entry",
    "-Wl,--strip-all",
    "-Wl,--export=cabi_realloc",
    "-o",
    `${tmp}/core.wasm`,
    o.source,
  ], tmp);
  await componentize(o, tmp);
}

/** C with wasi-libc: a WASI preview 1 reactor, adapted to WASI 0.2 by jco's reactor adapter. */
async function buildCWithLibc(o: BuildOptions, tmp: string): Promise<void> {
  await run("clang", [
    "--target=wasm32-wasi",
    "-mexec-model=reactor",
    "-O2",
    "-Wl,--strip-all",
    "-o",
    `${tmp}/core.wasm`,
    o.source,
  ], tmp);
  await componentize(o, tmp, ["--wasi-reactor"]);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `core.wasm` given the world's type section (`jco embed`) and made `out.wasm`, a component (`jco new`). */
async function componentize(o: BuildOptions, tmp: string, adapter: string[] = []): Promise<void> {
  const embedded = `${tmp}/embedded.wasm`;
  await jco(["embed", `${tmp}/core.wasm`, "--wit", `${tmp}/wit`, "-n", KINDS[o.kind].world, "-o", embedded], tmp);
  await jco(["new", embedded, ...adapter, "-o", `${tmp}/out.wasm`], tmp);
}
