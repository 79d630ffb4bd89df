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
import type { PluginKind } from "../control/api/plugins.ts";
import { PLUGIN_KINDS } from "../control/api/plugins.ts";
import { pushArtifact, RegistryClient } from "../node/registry/mod.ts";
import { BuildError, buildPlugin, jco } from "../plugins/host/build.ts";
import { assembleWit, KINDS } from "../plugins/host/kinds.ts";
import { runSuite } from "../plugins/host/conformance.ts";
import { storageImpl } from "../node/hostcaps/storage_conformance.ts";
import { networkSuite } from "../node/hostcaps/network_conformance.ts";
import type { Command } from "./args.ts";
import { CliError } from "./errors.ts";

/** The Wasm artifact media types (CNCF layout). */
export const PLUGIN_CONFIG_MEDIA_TYPE = "application/vnd.wasm.config.v0+json";
export const PLUGIN_LAYER_MEDIA_TYPE = "application/wasm";

const TEMPLATES: Partial<Record<PluginKind, string>> = {
  admission: `/**
 * An admission plugin: {{name}}. Denies pods without the label \`team\`.
 * Build: ./skiff plugin build; test: ./skiff plugin test; push: ./skiff plugin push <ref>.
 */
import { write } from "skiff:host/log@0.1.0";
import type { AdmissionRequest, AdmissionResponse } from "skiff:admission/types@0.1.0";

let label = "team";

export const policy = {
  /** Settings are the Plugin's spec.config; throw {tag: "invalid", val} to refuse them. */
  configure(settings: string): void {
    const s = JSON.parse(settings || "{}");
    if (s.label !== undefined && typeof s.label !== "string") throw { tag: "invalid", val: "label must be a string" };
    label = s.label ?? label;
  },
  validate(req: AdmissionRequest): AdmissionResponse {
    if (!req.object) return allow();
    const obj = JSON.parse(req.object);
    if (obj.kind !== "Pod" || obj.metadata?.labels?.[label]) return allow();
    write("info", \`denied \${req.namespace}/\${req.name}\`);
    return { allowed: false, message: \`pods need the label \${label}\`, code: 403, patch: undefined, warnings: [] };
  },
  mutate(_req: AdmissionRequest): AdmissionResponse {
    return allow();
  },
};

function allow(): AdmissionResponse {
  return { allowed: true, message: "", code: 0, patch: undefined, warnings: [] };
}
`,
  scheduler: `/**
 * A scheduler plugin: {{name}}. Filters out nodes labelled \`{{name}}/avoid\`, and prefers
 * nodes with the most free cpu.
 */
import type { FilterResult, NodeView, PodView } from "skiff:scheduler/types@0.1.0";

export const scheduling = {
  configure(_settings: string): void {},
  filter(_pod: PodView, nodes: NodeView[]): FilterResult[] {
    return nodes.map((n) =>
      n.labels.some((l) => l.key === "{{name}}/avoid")
        ? { code: "unschedulable" as const, reason: "node is labelled {{name}}/avoid" }
        : { code: "success" as const, reason: "" }
    );
  },
  score(_pod: PodView, nodes: NodeView[]): number[] {
    return nodes.map((n) => {
      const free = Number(n.allocatableMilliCpu) - Number(n.requestedMilliCpu);
      return Math.max(0, Math.min(100, Math.round((100 * free) / Math.max(1, Number(n.allocatableMilliCpu)))));
    });
  },
};
`,
  storage: `/**
 * A storage plugin: {{name}} (CSI driver \`{{name}}.storage.skiff.dev\`). A volume is a directory
 * under the node's volume root; publishing bind-mounts it on the pod's target. Node agents pass
 * the node facts in the settings: \`nodeId\` and \`root\` (where new volumes go). Everything on the
 * node's filesystem goes through skiff:host/host-mount (grant host-mount), the record of the
 * volumes through skiff:host/state (grant state). A StorageClass with
 * \`provisioner: {{name}}.storage.skiff.dev\` provisions through it.
 */
import { bindMount, makeDir, removeDir, unmount } from "skiff:host/host-mount@0.1.0";
import { delete as remove, get, set } from "skiff:host/state@0.1.0";
import type { Capabilities, NodeInfo, PluginInfo, Volume, VolumeCapability } from "skiff:storage/types@0.1.0";

let nodeId = "";
let root = "";
const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function fail(tag: "invalid-argument" | "failed-precondition" | "internal" | "unimplemented", val: string): never {
  throw { tag, val };
}

/** A host call's error message (the host answers the skiff:host error variant). */
function why(e: unknown): string {
  const p = (e as { payload?: { val?: string } })?.payload ?? (e as { val?: string });
  return p?.val ?? String(e);
}

function volume(dir: string, bytes: bigint): Volume {
  return { volumeId: dir, capacityBytes: bytes, volumeContext: [], accessibleTopology: [[["kubernetes.io/hostname", nodeId]]] };
}

export const identity = {
  configure(settings: string): void {
    const s = JSON.parse(settings || "{}");
    nodeId = s.nodeId ?? "";
    root = s.root ?? "";
  },
  getPluginInfo(): PluginInfo {
    return { name: "{{name}}.storage.skiff.dev", vendorVersion: "0.1.0", manifest: [] };
  },
  getPluginCapabilities(): Capabilities {
    return {
      controllerService: true,
      createDeleteVolume: true,
      publishUnpublishVolume: false,
      stageUnstageVolume: false,
      expandVolume: false,
      volumeAccessibilityConstraints: true,
    };
  },
  probe(): boolean {
    return true;
  },
};

export const controller = {
  createVolume(name: string, bytes: bigint, _caps: VolumeCapability[], _params: [string, string][]): Volume {
    if (!root) fail("failed-precondition", "no volume root in the settings");
    if (!/^[a-z0-9-]+$/.test(name)) fail("invalid-argument", \`invalid volume name \${name}\`);
    const dir = \`\${root}/\${name}\`;
    try {
      makeDir(dir);
    } catch (e) {
      fail("internal", \`failed to create \${dir}: \${why(e)}\`);
    }
    set(\`v/\${dir}\`, enc(name));
    return volume(dir, bytes);
  },
  deleteVolume(volumeId: string): void {
    if (!get(\`v/\${volumeId}\`)) return;
    removeDir(volumeId);
    remove(\`v/\${volumeId}\`);
  },
  controllerPublishVolume(): [string, string][] {
    fail("unimplemented", "no attach step");
  },
  controllerUnpublishVolume(): void {
    fail("unimplemented", "no attach step");
  },
  controllerExpandVolume(): bigint {
    fail("unimplemented", "volumes do not grow");
  },
};

export const node = {
  nodeStageVolume(): void {
    fail("unimplemented", "no stage step");
  },
  nodeUnstageVolume(): void {
    fail("unimplemented", "no stage step");
  },
  nodePublishVolume(volumeId: string, _staging: string | undefined, target: string, _cap: VolumeCapability, readonly: boolean): void {
    if (!target.startsWith("/")) fail("invalid-argument", \`target \${target} is not absolute\`);
    try {
      bindMount(volumeId, target, readonly);
    } catch (e) {
      fail("internal", \`bind mount on \${target} failed: \${why(e)}\`);
    }
  },
  nodeUnpublishVolume(_volumeId: string, target: string): void {
    unmount(target);
    removeDir(target);
  },
  nodeGetInfo(): NodeInfo {
    return { nodeId, maxVolumesPerNode: 0, accessibleTopology: [["kubernetes.io/hostname", nodeId]] };
  },
};
`,
};

function stubTemplate(kind: PluginKind): string {
  const ifaces = KINDS[kind].exports.map((e) => e.replace(/^.*\//, "").replace(/@.*/, ""));
  return `/**
 * A ${kind} plugin: {{name}}. Implement the verbs of wit/*.wit; node agents load ${kind} plugins.
 */
${ifaces.map((i) => `export const ${i.replace(/-([a-z])/g, (_, c) => c.toUpperCase())} = {
  configure(_settings: string): void {},
};`).join("\n")}
`;
}

function manifest(kind: PluginKind, name: string): string {
  return `apiVersion: skiff.dev/v1alpha1
kind: Plugin
metadata:
  name: ${name}
spec:
  kind: ${kind}
  image: REGISTRY/plugins/${name}:1   # ./skiff plugin push prints the pinned reference
  config: {}
  grants:
    - capability: log
${kind === "storage" ? `    - capability: state
    - capability: host-mount
` : ""}  failurePolicy: Fail
  timeoutSeconds: 2
${kind === "admission" ? `  admission:
    rules:
      - operations: ["CREATE", "UPDATE"]
        apiGroups: [""]
        apiVersions: ["v1"]
        resources: ["pods"]
` : kind === "scheduler" ? `  scheduler:
    weight: 1
` : ""}`;
}

/** Scaffolds a plugin folder. */
export async function scaffold(kind: PluginKind, name: string, dir: string): Promise<void> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new CliError(`plugin names are DNS labels: ${name}`, 2);
  await Deno.mkdir(dir, { recursive: true });
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
  const template = (TEMPLATES[kind] ?? stubTemplate(kind)).replaceAll("{{name}}", name);
  await Deno.writeTextFile(`${dir}/plugin.ts`, template);
  await Deno.writeTextFile(`${dir}/plugin.yaml`, manifest(kind, name));
  await assembleWit(kind, `${dir}/wit`);
  await jco(["guest-types", `${dir}/wit`, "-n", KINDS[kind].world, "-o", `${dir}/types`], dir);
  await Deno.writeTextFile(
    `${dir}/plugin_test.ts`,
    `// The ${kind} conformance suite against this plugin's component (./skiff plugin test runs the
// same suite): deno test -A --config ${root}/deno.json plugin_test.ts
import { buildPlugin } from "${root}/plugins/host/build.ts";
import { componentImpl, runTest } from "${root}/plugins/host/conformance.ts";
${kind === "storage" ? `import { storageImpl } from "${root}/node/hostcaps/storage_conformance.ts";
` : ""}
const built = await buildPlugin({ kind: "${kind}", source: new URL("./plugin.ts", import.meta.url).pathname });
runTest("${kind}", "${name}", ${kind === "storage" ? "storageImpl(() => Promise.resolve(built.bytes))" : `componentImpl("${kind}", built.bytes)`});
`,
  );
}

/** The kind and source of a plugin folder (from plugin.yaml). */
export async function pluginFolder(dir: string): Promise<{ kind: PluginKind; name: string; source: string }> {
  let doc: { metadata?: { name?: string }; spec?: { kind?: PluginKind } };
  try {
    doc = parse(await Deno.readTextFile(`${dir}/plugin.yaml`));
  } catch (e) {
    throw new CliError(`${dir} is not a plugin folder (no readable plugin.yaml: ${(e as Error).message})`);
  }
  const kind = doc?.spec?.kind;
  if (!kind || !PLUGIN_KINDS.includes(kind)) throw new CliError(`${dir}/plugin.yaml has no valid spec.kind`);
  const c = await Deno.stat(`${dir}/plugin.c`).then(() => true, () => false);
  return { kind, name: doc.metadata?.name ?? "plugin", source: `${dir}/${c ? "plugin.c" : "plugin.ts"}` };
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
        const results = await runSuite(f.kind, b.bytes, (line) => console.log(line), net?.newImpl ?? impl, net?.cases);
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
