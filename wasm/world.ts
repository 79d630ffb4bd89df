/**
 * Deciding, before anything starts, whether this host can run a component: which supported world
 * it targets (a `wasi:cli/run` command or a `wasi:http/incoming-handler` proxy, from its exports)
 * and whether every interface it imports — and every function of those interfaces the
 * transpiled glue asks for — is one the host provides. A refusal is a sentence the node shows as
 * the `CreateContainerError` message. Pure.
 * @module
 */
import { type ComponentItem, splitVersion } from "./component_binary.ts";

/** The worlds this host runs. */
export type WorldKind = "command" | "proxy";

/** The outcome of the check. */
export type WorldCheck = { ok: true; kind: WorldKind } | { ok: false; reason: string };

const RUN = "wasi:cli/run";
const HANDLER = "wasi:http/incoming-handler";

function is02(version: string | undefined): boolean {
  return !!version && /^0\.2\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version);
}

/**
 * The functions and resources the glue takes out of each import
 * (`const { a, b: c } = imports['wasi:io/poll'];`), keyed by unversioned interface name.
 */
export function glueImports(glue: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of glue.matchAll(/const \{([^}]*)\} = imports\['([^']+)'\];/g)) {
    const names = m[1].split(",").map((s) => s.trim().split(":")[0].trim()).filter(Boolean);
    out[m[2]] = [...new Set([...(out[m[2]] ?? []), ...names])].sort();
  }
  return out;
}

/**
 * Checks a component's top-level imports and exports (and, when given, the glue's per-interface
 * function lists) against what the host provides (`host`: interface → member names).
 */
export function checkWorld(
  component: { imports: readonly ComponentItem[]; exports: readonly ComponentItem[] },
  host: Readonly<Record<string, readonly string[]>>,
  glue?: Readonly<Record<string, readonly string[]>>,
): WorldCheck {
  const exported = component.exports.map((e) => ({ ...splitVersion(e.name), full: e.name }));
  const handler = exported.find((e) => e.name === HANDLER);
  const run = exported.find((e) => e.name === RUN);
  const target = handler ?? run;
  if (!target) {
    const names = exported.map((e) => e.full).join(", ") || "nothing";
    return {
      ok: false,
      reason:
        `The component exports neither ${RUN} (a command) nor ${HANDLER} (an HTTP proxy); it exports ${names}`,
    };
  }
  if (!is02(target.version)) {
    return {
      ok: false,
      reason:
        `The component exports ${target.full}; this node runs WASI 0.2.x worlds only (wasi:cli/command, wasi:http/proxy)`,
    };
  }
  const missing: string[] = [];
  for (const item of component.imports) {
    const { name, version } = splitVersion(item.name);
    if (item.kind !== "instance") missing.push(`${item.name} (a top-level ${item.kind})`);
    else if (!host[name]) missing.push(item.name);
    else if (!is02(version)) missing.push(`${item.name} (only 0.2.x is provided)`);
  }
  if (missing.length) {
    const families = [...new Set(Object.keys(host).map((n) => n.split("/")[0]))].sort().join(", ");
    return {
      ok: false,
      reason: `The component imports ${
        missing.join(", ")
      }, which this node does not provide (it provides ${families} at 0.2.x)`,
    };
  }
  const absent: string[] = [];
  for (const [iface, names] of Object.entries(glue ?? {})) {
    const have = new Set(host[iface] ?? []);
    for (const n of names) if (!have.has(n)) absent.push(`${iface}#${n}`);
  }
  if (absent.length) {
    return {
      ok: false,
      reason: `The component calls ${absent.join(", ")}, which this node does not implement`,
    };
  }
  return { ok: true, kind: handler ? "proxy" : "command" };
}
