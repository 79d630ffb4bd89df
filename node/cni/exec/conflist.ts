/**
 * CNI network configuration lists (SPEC.md "Configuration format"): `cniVersion`, `name`,
 * `plugins[]` (each with a `type`, the binary's name), `disableCheck`, `disableGC`. Loading picks
 * the first file of a directory in lexical order, as libcni and the kubelet/containerd do: `.conflist`
 * files hold a list; a `.conf`/`.json` file holds one plugin's configuration, taken as a one-plugin list.
 *
 * Pure: `parseConflist` validates text; `loadConflist` only adds reading the directory.
 * @module
 */
import { CniError } from "../api.ts";

/** CNI versions whose exec protocol and result format this driver speaks. */
export const SUPPORTED_VERSIONS = ["1.0.0", "1.1.0"] as const;

export interface PluginConf {
  type: string;
  [key: string]: unknown;
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
  disableCheck: boolean;
  disableGC: boolean;
  /** The bytes the list was read from (kept in the result cache, as libcni does). */
  raw: string;
  /** Where it was read from. */
  source: string;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;
const TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/**
 * Validates a network configuration list (or, `single`, one plugin's network configuration;
 * undefined: a list when it has `plugins`).
 */
export function parseConflist(text: string, source = "<inline>", single?: boolean): Conflist {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CniError(6, `${source}: not JSON`, (e as Error).message);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new CniError(7, `${source}: not a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  const bad = (msg: string) => new CniError(7, `${source}: ${msg}`);
  if (typeof d.cniVersion !== "string" || !d.cniVersion) throw bad("cniVersion is missing");
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(d.cniVersion)) {
    throw new CniError(
      1,
      `${source}: cniVersion ${d.cniVersion} is not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`,
    );
  }
  if (typeof d.name !== "string" || !NAME.test(d.name)) {
    throw bad(`name ${JSON.stringify(d.name)} is missing or invalid (letters, digits, _ . -)`);
  }
  let plugins: unknown;
  if (single ?? !("plugins" in d)) {
    const { cniVersion: _v, name: _n, ...rest } = d;
    plugins = [rest];
  } else {
    plugins = d.plugins;
  }
  if (!Array.isArray(plugins) || plugins.length === 0) throw bad("plugins must be a non-empty list");
  const out: PluginConf[] = plugins.map((p, i) => {
    if (!p || typeof p !== "object" || Array.isArray(p)) throw bad(`plugins[${i}] is not an object`);
    const t = (p as Record<string, unknown>).type;
    if (typeof t !== "string" || !TYPE.test(t)) {
      throw bad(`plugins[${i}].type ${JSON.stringify(t)} is missing or invalid`);
    }
    return p as PluginConf;
  });
  for (const k of ["disableCheck", "disableGC"]) {
    if (d[k] !== undefined && typeof d[k] !== "boolean") throw bad(`${k} must be a boolean`);
  }
  return {
    cniVersion: d.cniVersion,
    name: d.name,
    plugins: out,
    disableCheck: d.disableCheck === true,
    disableGC: d.disableGC === true,
    raw: text,
    source,
  };
}

/** The configuration file a directory selects: the first `.conflist`/`.conf`/`.json` in lexical order. */
export function selectConfFile(names: string[]): string | undefined {
  return names.filter((n) => /\.(conflist|conf|json)$/.test(n)).sort()[0];
}

/** Reads the network configuration the directory selects; throws a {@linkcode CniError} when none is valid. */
export async function loadConflist(dir: string): Promise<Conflist> {
  let names: string[];
  try {
    names = [];
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  } catch (e) {
    throw new CniError(7, `CNI configuration directory ${dir}: ${(e as Error).message}`);
  }
  const file = selectConfFile(names);
  if (!file) throw new CniError(7, `no network configuration (.conflist, .conf, .json) in ${dir}`);
  const path = `${dir}/${file}`;
  return parseConflist(await Deno.readTextFile(path), path, !file.endsWith(".conflist"));
}
