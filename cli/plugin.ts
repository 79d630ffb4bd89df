/**
 * `./skiff plugin new|build|test|push`: authoring Wasm plugins (docs/plugins.md).
 *
 * - `new <kind> <name>`: a folder `<name>/` with `plugin.ts` (a working template of the kind),
 *   `wit/` (the kind's world and the host package), `types/` (TypeScript types generated from
 *   the WIT by jco), `plugin_test.ts` (the kind's conformance suite) and `plugin.yaml` (the Plugin
 *   object to apply).
 * - `build [DIR]`: the component (`DIR/plugin.wasm`); `plugin.c` builds with clang instead.
 * - `test [DIR]`: the kind's conformance suite against the component, in a runner process as the
 *   plugin host runs it.
 * - `push <ref> [DIR]`: pushes it as an OCI Wasm artifact; prints `<repository>@<digest>`.
 * @module
 */
import { parse } from "yaml";
import type { Grant, PluginKind } from "../control/api/plugins.ts";
import { PLUGIN_KINDS } from "../control/api/plugins.ts";
import { pushArtifact, RegistryClient } from "../node/registry/mod.ts";
import { BuildError, buildPlugin } from "../plugins/host/build.ts";
import { runSuite } from "../plugins/host/conformance.ts";
import { storageImpl } from "../node/hostcaps/storage_conformance.ts";
import { networkSuite } from "../node/hostcaps/network_conformance.ts";
import type { Command } from "./args.ts";
import { CliError } from "./errors.ts";
import { scaffold } from "./plugin_scaffold.ts";

export { scaffold };

/** The Wasm artifact media types (CNCF layout). */
export const PLUGIN_CONFIG_MEDIA_TYPE = "application/vnd.wasm.config.v0+json";
export const PLUGIN_LAYER_MEDIA_TYPE = "application/wasm";

/** The kind and source of a plugin folder (from plugin.yaml). */
export async function pluginFolder(
  dir: string,
): Promise<{ kind: PluginKind; name: string; source: string; grants?: Grant[] }> {
  let doc: { metadata?: { name?: string }; spec?: { kind?: PluginKind; grants?: Grant[] } };
  try {
    doc = parse(await Deno.readTextFile(`${dir}/plugin.yaml`));
  } catch (e) {
    throw new CliError(`${dir} is not a plugin folder (no readable plugin.yaml: ${(e as Error).message})`);
  }
  const kind = doc?.spec?.kind;
  if (!kind || !PLUGIN_KINDS.includes(kind)) throw new CliError(`${dir}/plugin.yaml has no valid spec.kind`);
  const c = await Deno.stat(`${dir}/plugin.c`).then(() => true, () => false);
  const grants = Array.isArray(doc.spec?.grants) ? doc.spec.grants : undefined;
  return { kind, name: doc.metadata?.name ?? "plugin", source: `${dir}/${c ? "plugin.c" : "plugin.ts"}`, grants };
}

/** Pushes a component as an OCI Wasm artifact; returns the manifest digest. */
export async function pushPlugin(ref: string, bytes: Uint8Array, kind: PluginKind, blobDir: string): Promise<string> {
  const client = new RegistryClient({ blobDir });
  const config = { created: new Date(0).toISOString(), architecture: "wasm", os: "wasip2", "dev.skiff.plugin.kind": kind };
  return await pushArtifact(client, ref, {
    config: { mediaType: PLUGIN_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify(config)) },
    layers: [{ mediaType: PLUGIN_LAYER_MEDIA_TYPE, bytes, annotations: { "org.opencontainers.image.title": "plugin.wasm" } }],
    artifactType: PLUGIN_CONFIG_MEDIA_TYPE,
    annotations: { "dev.skiff.plugin.kind": kind },
  });
}

/** Builds the component; a failing build is the author's to fix, so it reads as one message. */
async function build(opts: Parameters<typeof buildPlugin>[0]): ReturnType<typeof buildPlugin> {
  try {
    return await buildPlugin(opts);
  } catch (e) {
    if (e instanceof BuildError) throw new CliError(`the build failed: ${e.message}`);
    throw e;
  }
}

/** `./skiff plugin`. */
export const pluginCommand: Command = {
  name: "plugin",
  summary: "Author Wasm plugins: new <kind> <name>, build [DIR], test [DIR], push <ref> [DIR].",
  usage: "new <kind> <name> | build [DIR] | test [DIR] | push <ref> [DIR]",
  description: [
    `Kinds: ${PLUGIN_KINDS.join(", ")}. A plugin folder holds plugin.ts (or plugin.c), plugin.yaml, wit/`,
    "and types/. build writes DIR/plugin.wasm; test runs the kind's conformance suite against it;",
    "push prints the pinned reference to put in plugin.yaml's spec.image.",
  ].join("\n"),
  flags: [],
  args: "positional",
  packages: [],
  async run({ args, cwd }) {
    const [sub, ...rest] = args;
    const abs = (p: string) => (p.startsWith("/") ? p : `${cwd}/${p}`);
    switch (sub) {
      case "new": {
        const [kind, name] = rest;
        if (!kind || !name) throw new CliError("usage: ./skiff plugin new <kind> <name>", 2);
        if (!PLUGIN_KINDS.includes(kind as PluginKind)) throw new CliError(`unknown kind ${kind}; kinds: ${PLUGIN_KINDS.join(", ")}`, 2);
        await scaffold(kind as PluginKind, name, abs(name));
        console.log(`created ${abs(name)}: edit plugin.ts, then ./skiff plugin build ${name}`);
        return 0;
      }
      case "build": {
        const dir = abs(rest[0] ?? ".");
        const f = await pluginFolder(dir);
        const b = await build({ kind: f.kind, source: f.source, out: `${dir}/plugin.wasm`, cacheDir: `${dir}/.cache` });
        console.log(`${dir}/plugin.wasm ${b.digest} (${b.bytes.byteLength} bytes)`);
        return 0;
      }
      case "test": {
        const dir = abs(rest[0] ?? ".");
        const f = await pluginFolder(dir);
        const b = await build({ kind: f.kind, source: f.source, cacheDir: `${dir}/.cache` });
        // Storage plugins get a real host-mount capability bounded to a scratch root (root only).
        const impl = f.kind === "storage" ? storageImpl(() => Promise.resolve(b.bytes)) : undefined;
        // Network plugins get a real bridge and namespaces, host-net and the built-in host-local (root only).
        await using net = f.kind === "network" ? await networkSuite(() => Promise.resolve(b.bytes)) : undefined;
        // Runtime plugins get the node's half: host-process, node-images, real crun and conmon, a
        // registry with busybox (root only), with the grants of plugin.yaml.
        await using rt = f.kind === "runtime"
          ? await (await import("../node/hostcaps/runtime_conformance.ts")).runtimeSuite(
            () => Promise.resolve(b.bytes),
            { name: f.name, grants: f.grants },
          )
          : undefined;
        const env = net ?? rt;
        const results = await runSuite(f.kind, b.bytes, (line) => console.log(line), env?.newImpl ?? impl, env?.cases);
        const failed = results.filter((r) => !r.ok).length;
        console.log(`${results.length - failed} passed, ${failed} failed`);
        return failed ? 1 : 0;
      }
      case "push": {
        const [ref, d] = rest;
        if (!ref) throw new CliError("usage: ./skiff plugin push <ref> [DIR]", 2);
        const dir = abs(d ?? ".");
        const f = await pluginFolder(dir);
        const b = await build({ kind: f.kind, source: f.source, cacheDir: `${dir}/.cache` });
        const blobs = await Deno.makeTempDir({ prefix: "skiff-push-" });
        try {
          let digest: string;
          try {
            digest = await pushPlugin(ref, b.bytes, f.kind, blobs);
          } catch (e) {
            throw new CliError(`cannot push ${ref}: ${(e as Error).message}`);
          }
          console.log(`${ref.replace(/[:@][^/:@]*$/, "")}@${digest}`);
        } finally {
          await Deno.remove(blobs, { recursive: true });
        }
        return 0;
      }
      default:
        throw new CliError("usage: ./skiff plugin new <kind> <name> | build [DIR] | test [DIR] | push <ref> [DIR]", 2);
    }
  },
};
