/**
 * Preparing plugin components: check the binary (a component exporting its kind's interfaces
 * and importing only what a plugin may import), transpile it with jco (in a worker, without
 * JSPI: plugin calls are synchronous and cost microseconds), and keep the result on disk by
 * digest. Refusals are errors with a sentence, shown in the Plugin's status.
 * @module
 */
import { createHash } from "node:crypto";
import type { PluginKind } from "../../control/api/plugins.ts";
import { BinaryFormatError, readBinaryShape, splitVersion } from "../../wasm/component_binary.ts";
import { KINDS } from "./kinds.ts";

/** A transpiled plugin on disk (plain data: it crosses to the runner process as JSON). */
export interface PluginComponent {
  digest: string;
  dir: string;
  glue: string;
  coreModules: string[];
  imports: string[];
  exports: string[];
}

/** The component cannot be a plugin of this kind. */
export class PluginRefusedError extends Error {
  override name = "PluginRefusedError";
}

/** Interfaces a plugin may import besides its world's: the WASI a QuickJS guest links (no preopens, no sockets). */
const WASI_ALLOWED = /^wasi:(cli|io|clocks|random|filesystem|sockets)\//;

/** Checks a component's imports and exports against its kind. Pure. */
export function checkPluginShape(kind: PluginKind, bytes: Uint8Array): { imports: string[]; exports: string[] } {
  let shape;
  try {
    shape = readBinaryShape(bytes);
  } catch (e) {
    if (e instanceof BinaryFormatError) throw new PluginRefusedError(`the artifact is not a WebAssembly component: ${e.message}`);
    throw e;
  }
  if (shape.kind !== "component") {
    throw new PluginRefusedError("the artifact is a core module, not a component; adapt it with `jco new`");
  }
  const c = KINDS[kind];
  const exports = shape.exports.map((e) => e.name);
  // The current exports, or a complete set of an older version still loaded.
  const missing = c.exports.filter((x) => !exports.includes(x));
  const older = (c.olderExports ?? []).some((set) => set.every((x) => exports.includes(x)));
  if (missing.length && !older) {
    throw new PluginRefusedError(
      `a ${kind} plugin must export ${missing.join(", ")} (world ${c.package.replace(/@.*/, "")}/${c.world}); it exports ${exports.join(", ") || "nothing"}`,
    );
  }
  const own = c.package.replace(/@.*/, "");
  const bad = shape.imports.map((i) => i.name).filter((name) => {
    const { name: plain } = splitVersion(name);
    if (WASI_ALLOWED.test(plain)) return false;
    if (plain.startsWith(`${own}/`)) return false;
    if (plain === "skiff:host/types") return false;
    if (plain.startsWith("skiff:host/")) return !c.imports.includes(plain.slice("skiff:host/".length));
    return true;
  });
  if (bad.length) {
    throw new PluginRefusedError(`a ${kind} plugin may not import ${bad.join(", ")} (its world imports ${c.imports.map((i) => `skiff:host/${i}`).join(", ")})`);
  }
  return { imports: shape.imports.map((i) => i.name), exports };
}

/** Transpiles and caches plugin components under `dir`. */
export class PluginCache implements Disposable {
  readonly dir: string;
  readonly #pending = new Map<string, Promise<PluginComponent>>();
  #worker?: Worker;
  #next = 0;
  #calls = new Map<number, { resolve(f: Record<string, Uint8Array>): void; reject(e: Error): void }>();

  constructor(dir: string) {
    this.dir = dir.replace(/\/+$/, "");
  }

  /** Prepares a component; concurrent calls for one digest share the work. Throws PluginRefusedError. */
  prepare(kind: PluginKind, bytes: Uint8Array): Promise<PluginComponent> {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const key = `${kind}/${digest}`;
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#prepare(kind, digest, bytes).finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    return p;
  }

  async #prepare(kind: PluginKind, digest: string, bytes: Uint8Array): Promise<PluginComponent> {
    const { imports, exports } = checkPluginShape(kind, bytes);
    const dir = `${this.dir}/${digest.replace(":", "-")}`;
    const component: PluginComponent = { digest, dir, glue: "plugin.js", coreModules: [], imports, exports };
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
      return { ...component, coreModules: meta.coreModules };
    } catch { /* not cached yet */ }
    let files: Record<string, Uint8Array>;
    try {
      files = await this.#transpile(bytes);
    } catch (e) {
      throw new PluginRefusedError(`jco could not transpile the component: ${(e as Error).message}`);
    }
    const tmp = `${dir}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(tmp, { recursive: true });
    try {
      for (const [name, data] of Object.entries(files)) await Deno.writeFile(`${tmp}/${name}`, data);
      component.coreModules = Object.keys(files).filter((f) => f.endsWith(".wasm")).sort();
      await Deno.writeTextFile(`${tmp}/meta.json`, JSON.stringify({ coreModules: component.coreModules }));
      await Deno.rename(tmp, dir).catch(async (e) => {
        if (!(await Deno.stat(`${dir}/meta.json`).catch(() => null))) throw e;
      });
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    return component;
  }

  #transpile(bytes: Uint8Array): Promise<Record<string, Uint8Array>> {
    if (!this.#worker) {
      this.#worker = new Worker(new URL("./transpile_worker.ts", import.meta.url), { type: "module" });
      this.#worker.onmessage = (e: MessageEvent<{ id: number; files?: Record<string, Uint8Array>; error?: string }>) => {
        const c = this.#calls.get(e.data.id);
        this.#calls.delete(e.data.id);
        if (e.data.files) c?.resolve(e.data.files);
        else c?.reject(new Error(e.data.error));
      };
      this.#worker.onerror = (e) => {
        e.preventDefault();
        for (const c of this.#calls.values()) c.reject(new Error(`the transpile worker failed: ${e.message}`));
        this.#calls.clear();
        this.#worker?.terminate();
        this.#worker = undefined;
      };
    }
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      const copy = bytes.slice();
      this.#worker!.postMessage({ id, bytes: copy }, [copy.buffer]);
    });
  }

  [Symbol.dispose](): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const c of this.#calls.values()) c.reject(new Error("the plugin cache was closed"));
    this.#calls.clear();
  }
}
