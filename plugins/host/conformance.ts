/**
 * The conformance harness, Hono's `runTest(newImpl)` pattern: each kind has ONE suite
 * (`plugins/<kind>/conformance.ts`, a list of cases over the kind's WIT verbs), run against every
 * implementation of the kind. An implementation is a factory: settings in, something that
 * answers the kind's operations out. {@linkcode componentImpl} makes one from a component, run
 * in a runner process exactly as the plugin host runs it.
 * @module
 */
import type { Grant, PluginKind } from "../../control/api/plugins.ts";
import { admissionCases } from "../admission/conformance.ts";
import { networkCases } from "../network/conformance.ts";
import { runtimeCases } from "../runtime/conformance.ts";
import { schedulerCases } from "../scheduler/conformance.ts";
import { storageCases } from "../storage/conformance.ts";
import { PluginCache } from "./prepare.ts";
import { Runner } from "./runner_client.ts";

/** A plugin under test: calls the kind's operations (WIT verbs, camelCase). */
export interface PluginImpl extends AsyncDisposable {
  call(op: string, ...args: unknown[]): Promise<unknown>;
  /** Storage: the root the implementation's `host-mount` grant is bounded to (mount cases). */
  volumeRoot?: string;
}

/** Makes an implementation with the given settings (JSON); rejects when the plugin refuses them. */
export type NewImpl = (settings?: string) => Promise<PluginImpl>;

/** One conformance case. */
export interface Case {
  name: string;
  fn(newImpl: NewImpl): Promise<void>;
}

/** Every kind's suite. */
export const SUITES: Record<PluginKind, Case[]> = {
  admission: admissionCases,
  scheduler: schedulerCases,
  network: networkCases("network"),
  ipam: networkCases("ipam"),
  storage: storageCases,
  runtime: runtimeCases,
};

/** An implementation backed by a component in a runner process. */
export function componentImpl(
  kind: PluginKind,
  bytes: Uint8Array,
  opts: { cacheDir?: string; grants?: Grant[] } = {},
): NewImpl {
  const dir = opts.cacheDir ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/skiff-plugin-conformance`;
  return async (settings = "{}") => {
    using cache = new PluginCache(dir);
    const component = await cache.prepare(kind, bytes);
    const runner = await Runner.start({
      config: { plugin: "conformance", kind, component, settings, grants: opts.grants ?? [{ capability: "log" }], memoryBytes: 64 << 20 },
    });
    return {
      call: (op, ...args) => runner.call(op, args, 5000),
      [Symbol.asyncDispose]: () => runner.stop(1000),
    };
  };
}

/** Registers the kind's suite as one Deno test with a step per case. */
export function runTest(kind: PluginKind, name: string, newImpl: NewImpl): void {
  Deno.test(`${kind} conformance: ${name}`, async (t) => {
    for (const c of SUITES[kind]) await t.step(c.name, () => c.fn(newImpl));
  });
}

/** Runs the kind's suite against a component (./skiff plugin test); one line per case. */
export async function runSuite(
  kind: PluginKind,
  bytes: Uint8Array,
  log: (line: string) => void,
  /** The implementation factory (default: {@linkcode componentImpl} with `log` and `state`). */
  impl?: NewImpl,
  /** The cases (default: the kind's suite; network plugins: with their host environment). */
  cases: Case[] = SUITES[kind],
): Promise<{ name: string; ok: boolean; error?: string }[]> {
  // The state store too (in memory, per runner): stateful plugins such as host-local need it.
  const newImpl = impl ?? componentImpl(kind, bytes, { grants: [{ capability: "log" }, { capability: "state" }] });
  const out: { name: string; ok: boolean; error?: string }[] = [];
  for (const c of cases) {
    try {
      await c.fn(newImpl);
      out.push({ name: c.name, ok: true });
      log(`ok   ${c.name}`);
    } catch (e) {
      out.push({ name: c.name, ok: false, error: (e as Error).message });
      log(`FAIL ${c.name}: ${(e as Error).message}`);
    }
  }
  return out;
}
