/**
 * Preparing components to run, on the node-agent side: check the binary, transpile it with jco
 * (in a worker, off the agent's event loop), check its world, and keep the result on disk keyed
 * by the component's digest, so a restarted agent never transpiles the same image again.
 * Refusals are cached too.
 *
 * @example
 * ```ts ignore
 * import { ComponentCache } from "./component_cache.ts";
 *
 * await using cache = new ComponentCache({ dir: `${dataDir}/wasm` });
 * const component = await cache.prepare({ path: layerPath, digest: layerDigest });
 * component.kind; // "command" | "proxy"
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { BinaryFormatError, readBinaryShape } from "./component_binary.ts";
import { GLUE_FILE, TRANSPILE_FORMAT, type Transpiled } from "./transpile_options.ts";
import { hostInterfaces } from "./wasi/mod.ts";
import { checkWorld, glueImports, type WorldKind } from "./world.ts";

/** A component ready to be started in a sandbox (plain data: it crosses the IPC as JSON). */
export interface PreparedComponent {
  /** sha256 digest of the component bytes. */
  digest: string;
  /** Absolute directory holding the glue and the core modules. */
  dir: string;
  /** The glue's file name in `dir`. */
  glue: string;
  /** Core module file names in `dir`. */
  coreModules: string[];
  kind: WorldKind;
  /** Top-level imports and exports, versioned. */
  imports: string[];
  exports: string[];
}

/** Thrown when this host cannot run a component; the node maps it to `CreateContainerError`. */
export class ComponentRefusedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "ComponentRefusedError";
  }
}

type Meta = { format: string; ok: true; component: Omit<PreparedComponent, "dir"> } | {
  format: string;
  ok: false;
  reason: string;
};

/** Options of a {@linkcode ComponentCache}. */
export interface ComponentCacheOptions {
  /** Where transpiled components live (`<dataDir>/wasm`). */
  dir: string;
  /** Terminate the transpile worker after this long without work (default 30 s). */
  idleMs?: number;
}

/** The on-disk cache of transpiled components. */
export class ComponentCache implements AsyncDisposable {
  readonly dir: string;
  /** How many components this cache transpiled, and how many it found on disk. */
  readonly stats = { transpiled: 0, fromDisk: 0 };
  readonly #idleMs: number;
  readonly #pending = new Map<string, Promise<PreparedComponent>>();
  #worker?: Worker;
  #idleTimer?: ReturnType<typeof setTimeout>;
  #nextId = 0;
  #calls = new Map<number, { resolve(t: Transpiled | null): void; reject(e: Error): void }>();

  constructor(opts: ComponentCacheOptions) {
    const dir = opts.dir.startsWith("/") ? opts.dir : `${Deno.cwd()}/${opts.dir}`; // sandboxes import from it
    this.dir = dir.replace(/\/+$/, "");
    this.#idleMs = opts.idleMs ?? 30_000;
  }

  /**
   * Prepares a component from its bytes or file (the verified layer blob). Concurrent calls for
   * one digest share the work. Throws {@linkcode ComponentRefusedError}.
   */
  prepare(
    source: { path: string; digest?: string } | { bytes: Uint8Array; digest?: string },
  ): Promise<PreparedComponent> {
    return (async () => {
      const bytes = "bytes" in source ? source.bytes : await Deno.readFile(source.path);
      const digest = source.digest ?? `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      let pending = this.#pending.get(digest);
      if (!pending) {
        pending = this.#prepare(digest, bytes).finally(() => this.#pending.delete(digest));
        this.#pending.set(digest, pending);
      }
      return await pending;
    })();
  }

  /** Where a digest's entry lives. */
  entryDir(digest: string): string {
    return `${this.dir}/${digest.replace(":", "-")}.${TRANSPILE_FORMAT}`;
  }

  async #prepare(digest: string, bytes: Uint8Array): Promise<PreparedComponent> {
    const dir = this.entryDir(digest);
    const cached = await readMeta(dir);
    if (cached) {
      this.stats.fromDisk++;
      return fromMeta(cached, dir);
    }
    const meta = await this.#build(digest, bytes);
    const tmp = `${dir}.tmp-${crypto.randomUUID()}`;
    await Deno.mkdir(tmp, { recursive: true });
    try {
      if (meta.files) {
        for (const [name, data] of Object.entries(meta.files)) await Deno.writeFile(`${tmp}/${name}`, data);
      }
      await Deno.writeTextFile(`${tmp}/meta.json`, JSON.stringify(meta.meta));
      await Deno.rename(tmp, dir).catch(async (e) => {
        if (!(await readMeta(dir))) throw e; // another agent won the race; its entry is as good
      });
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    return fromMeta(meta.meta, dir);
  }

  async #build(
    digest: string,
    bytes: Uint8Array,
  ): Promise<{ meta: Meta; files?: Record<string, Uint8Array> }> {
    const refuse = (reason: string) => ({ meta: { format: TRANSPILE_FORMAT, ok: false as const, reason } });
    let shape;
    try {
      shape = readBinaryShape(bytes);
    } catch (e) {
      if (e instanceof BinaryFormatError) {
        return refuse(`The Wasm layer is not a WebAssembly component: ${e.message}`);
      }
      throw e;
    }
    if (shape.kind === "module") {
      return refuse(
        "The Wasm layer is a core module, not a component; adapt it with `jco new --wasi-command` (or `wasm-tools component new`)",
      );
    }
    const host = hostInterfaces();
    const early = checkWorld(shape, host);
    if (!early.ok) return refuse(early.reason);
    let transpiled: Transpiled;
    try {
      this.stats.transpiled++;
      transpiled = await this.#transpile(bytes);
    } catch (e) {
      return refuse(`jco could not transpile the component: ${(e as Error).message}`);
    }
    const glue = new TextDecoder().decode(transpiled.files[GLUE_FILE]);
    const check = checkWorld(shape, host, glueImports(glue));
    if (!check.ok) return refuse(check.reason);
    const component: Omit<PreparedComponent, "dir"> = {
      digest,
      glue: GLUE_FILE,
      coreModules: Object.keys(transpiled.files).filter((f) => f.endsWith(".wasm")).sort(),
      kind: check.kind,
      imports: shape.imports.map((i) => i.name),
      exports: shape.exports.map((e) => e.name),
    };
    return { meta: { format: TRANSPILE_FORMAT, ok: true, component }, files: transpiled.files };
  }

  /**
   * Starts the transpile worker and loads jco-transpile in it, so that the first pod's transpile
   * does not pay for that (the agent calls it at startup; the idle timeout still applies).
   */
  async warm(): Promise<void> {
    await this.#call(undefined);
  }

  #transpile(bytes: Uint8Array): Promise<Transpiled> {
    return this.#call(bytes) as Promise<Transpiled>;
  }

  #call(bytes: Uint8Array | undefined): Promise<Transpiled | null> {
    clearTimeout(this.#idleTimer);
    if (!this.#worker) {
      this.#worker = new Worker(new URL("./transpile_worker.ts", import.meta.url), { type: "module" });
      this.#worker.onmessage = (
        e: MessageEvent<{ id: number; result?: Transpiled | null; error?: string }>,
      ) => {
        const call = this.#calls.get(e.data.id);
        this.#calls.delete(e.data.id);
        if (e.data.result !== undefined) call?.resolve(e.data.result);
        else call?.reject(new Error(e.data.error));
        this.#scheduleIdle();
      };
      this.#worker.onerror = (e) => {
        e.preventDefault();
        for (const c of this.#calls.values()) {
          c.reject(new Error(`The transpile worker failed: ${e.message}`));
        }
        this.#calls.clear();
        this.#worker?.terminate();
        this.#worker = undefined;
      };
    }
    const id = ++this.#nextId;
    return new Promise<Transpiled | null>((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      if (!bytes) return this.#worker!.postMessage({ id });
      const copy = bytes.slice();
      this.#worker!.postMessage({ id, bytes: copy }, [copy.buffer]);
    });
  }

  #scheduleIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#calls.size) return;
    this.#idleTimer = setTimeout(() => this.close(), this.#idleMs);
  }

  /** Stops the transpile worker (a later `prepare` starts a new one). */
  close(): void {
    clearTimeout(this.#idleTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const c of this.#calls.values()) c.reject(new Error("The component cache was closed"));
    this.#calls.clear();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

async function readMeta(dir: string): Promise<Meta | undefined> {
  try {
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`)) as Meta;
    return meta.format === TRANSPILE_FORMAT ? meta : undefined;
  } catch {
    return undefined;
  }
}

function fromMeta(meta: Meta, dir: string): PreparedComponent {
  if (!meta.ok) throw new ComponentRefusedError(meta.reason);
  return { ...meta.component, dir };
}
