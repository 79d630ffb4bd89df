/**
 * Loading prepared components inside a sandbox: the glue is imported once per component, and
 * its core modules are compiled once per (component, memory limit) and shared by every instance
 * of every pod in this process. Each instantiation records the memories it created, for the
 * memory checks.
 * @module
 */
import type { PreparedComponent } from "../component_cache.ts";
import { capMemory } from "../memory_cap.ts";

/** The jco glue's entry point (async instantiation mode). */
interface Glue {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: Record<string, unknown>,
    instantiateCore?: (m: WebAssembly.Module, imports?: WebAssembly.Imports) => Promise<WebAssembly.Instance>,
  ): Promise<Record<string, unknown>>;
}

/** A component whose code is ready to instantiate. */
export interface LoadedComponent {
  component: PreparedComponent;
  /** The per-memory cap applied, in bytes (undefined: no limit). */
  memoryLimitBytes?: number;
  /** Instantiates it with the given WASI imports. */
  instantiate(imports: Record<string, unknown>): Promise<Instance>;
}

/** One instance: its exports and the linear memories it made. */
export interface Instance {
  exports: Record<string, unknown>;
  memories: WebAssembly.Memory[];
}

const glues = new Map<string, Promise<Glue>>();
const modules = new Map<string, Promise<WebAssembly.Module>>();

function compiled(dir: string, file: string, limit?: number): Promise<WebAssembly.Module> {
  const key = `${dir}/${file}#${limit ?? "-"}`;
  let m = modules.get(key);
  if (!m) {
    m = (async () => {
      const bytes = await Deno.readFile(`${dir}/${file}`);
      return await WebAssembly.compile((limit ? capMemory(bytes, limit) : bytes) as Uint8Array<ArrayBuffer>);
    })();
    m.catch(() => modules.delete(key));
    modules.set(key, m);
  }
  return m;
}

/**
 * Loads a component (glue and core modules, compiled with the memory cap). Throws
 * `MemoryLimitError` when the component needs more memory at start than the limit.
 */
export async function loadComponent(
  component: PreparedComponent,
  memoryLimitBytes?: number,
): Promise<LoadedComponent> {
  const url = `file://${component.dir}/${component.glue}`;
  let glue = glues.get(url);
  if (!glue) {
    glue = import(url) as Promise<Glue>;
    glue.catch(() => glues.delete(url));
    glues.set(url, glue);
  }
  const [g, ...mods] = await Promise.all([
    glue,
    ...component.coreModules.map((f) => compiled(component.dir, f, memoryLimitBytes)),
  ]);
  const byName = new Map(component.coreModules.map((f, i) => [f, mods[i]]));
  return {
    component,
    memoryLimitBytes,
    async instantiate(imports) {
      const memories = new Set<WebAssembly.Memory>();
      const exports = await g.instantiate(
        (name) => {
          const m = byName.get(name);
          if (!m) throw new Error(`The glue asked for an unknown core module ${name}`);
          return m;
        },
        imports,
        async (module, coreImports) => {
          const instance = await WebAssembly.instantiate(module, coreImports ?? {});
          for (const v of Object.values(instance.exports)) {
            if (v instanceof WebAssembly.Memory) memories.add(v);
          }
          return instance;
        },
      );
      return { exports, memories: [...memories] };
    },
  };
}

/** How many components and compiled modules this process holds (for tests and stats). */
export function loaderStats(): { glues: number; modules: number } {
  return { glues: glues.size, modules: modules.size };
}
