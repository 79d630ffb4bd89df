/**
 * Per-instance WASI 0.2 for jco-transpiled components, written for Skiff (no preview2-shim):
 * nothing is process-global, so many pods share one sandbox process without sharing any state.
 * Each instance gets its own environment, arguments, stdout/stderr sinks, clocks, random seed,
 * preopened volume directories (read-only where mounted so), denied sockets, an outgoing HTTP
 * policy, and an abort signal that unwinds every wait of that guest.
 *
 * @example
 * ```ts ignore
 * import { createWasi } from "./mod.ts";
 *
 * const wasi = createWasi({ env: [["A", "1"]], args: ["app"], preopens: [], stdout: print, stderr: print });
 * const exports = await glue.instantiate(getCoreModule, wasi.imports);
 * ```
 * @module
 */
import { cliImports } from "./cli.ts";
import { clockImports } from "./clocks.ts";
import { filesystemImports, type Preopen } from "./filesystem.ts";
import { outgoingHandler, type OutgoingPolicy, OutgoingRequest, RequestOptions } from "./http_outgoing.ts";
import {
  Fields,
  FutureIncomingResponse,
  FutureTrailers,
  IncomingBody,
  IncomingRequest,
  IncomingResponse,
  OutgoingBody,
  OutgoingResponse,
  ResponseOutparam,
} from "./http_types.ts";
import { IoError, ioImports } from "./io.ts";
import { randomImports } from "./random.ts";
import { socketImports } from "./sockets.ts";

export { GuestExit } from "./cli.ts";
export type { Preopen } from "./filesystem.ts";
export type { OutgoingPolicy } from "./http_outgoing.ts";
export { IncomingRequest, type Outcome, ResponseOutparam, toResponse } from "./http_types.ts";

/** What one instance's WASI is made of. */
export interface WasiConfig {
  env: readonly (readonly [string, string])[];
  args: readonly string[];
  cwd?: string;
  /** Receives the guest's stdout bytes (a copy it may keep). */
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  preopens: readonly Preopen[];
  /** Which outgoing `wasi:http` requests are allowed (default: none). */
  outgoing?: OutgoingPolicy;
  fetch?: typeof fetch;
}

/** One instance's WASI. */
export interface Wasi {
  /** The `imports` argument of a jco `instantiate`, keyed by unversioned interface name. */
  imports: Record<string, Record<string, unknown>>;
  /** Aborted by {@linkcode Wasi.abort}: every pending wait of the guest rejects. */
  signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Aborts and closes the files the guest left open. */
  close(): void;
}

/** Builds the WASI imports of one instance. */
export function createWasi(config: WasiConfig): Wasi {
  const controller = new AbortController();
  const signal = controller.signal;
  const fs = filesystemImports(config.preopens);
  const sink = (f: (b: Uint8Array) => void) => ({ write: (b: Uint8Array) => f(b.slice()) });
  const imports = {
    ...ioImports(),
    ...cliImports({
      env: config.env,
      args: config.args,
      cwd: config.cwd,
      stdout: sink(config.stdout),
      stderr: sink(config.stderr),
      signal,
    }),
    ...clockImports(signal),
    ...randomImports(),
    ...socketImports(),
    ...fs.imports,
    "wasi:http/types": {
      Fields,
      IncomingRequest,
      OutgoingRequest,
      RequestOptions,
      ResponseOutparam,
      IncomingResponse,
      IncomingBody,
      FutureTrailers,
      OutgoingResponse,
      OutgoingBody,
      FutureIncomingResponse,
      httpErrorCode: (err: IoError) => err.httpErrorCode as undefined,
    },
    "wasi:http/outgoing-handler": outgoingHandler({
      policy: config.outgoing ?? (() => false),
      signal,
      fetch: config.fetch,
    }),
  } as Record<string, Record<string, unknown>>;
  return {
    imports,
    signal,
    abort: (reason?: unknown) => controller.abort(reason ?? new Error("The container was stopped")),
    close: () => {
      controller.abort(new Error("The instance was closed"));
      fs.close();
    },
  };
}

/**
 * What this host provides: every interface (unversioned) with the names of its functions and
 * resources. The world check compares a component's imports against it.
 */
export function hostInterfaces(): Record<string, string[]> {
  const wasi = createWasi({ env: [], args: [], preopens: [], stdout() {}, stderr() {} });
  const out: Record<string, string[]> = {};
  for (const [name, members] of Object.entries(wasi.imports)) out[name] = Object.keys(members).sort();
  wasi.close();
  return out;
}
