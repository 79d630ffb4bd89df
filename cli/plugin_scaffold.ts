/**
 * `./skiff plugin new <kind> <name>`: the scaffold of a plugin folder for every kind —
 * `plugin.ts` (a working plugin of the kind), `plugin.yaml` (the Plugin to apply, with the grants
 * the template uses), `plugin_test.ts` (the kind's conformance suite against the component),
 * `wit/` (the kind's world and `deps/host/`) and `types/` (TypeScript types generated from the
 * WIT by `jco guest-types`).
 *
 * Admission, scheduler and storage templates are written here; the node-side kinds start from
 * real plugins of the repository, so that what is scaffolded is what CI runs: network and ipam
 * from the built-in `bridge` and `host-local`, runtime from plugins/runtime/template/plugin.ts
 * (a minimal crun + conmon driver) with the pure OCI helpers it bundles (plugins/runtime/oci/,
 * copied to `oci/`).
 * @module
 */
import type { PluginKind } from "../control/api/plugins.ts";
import { jco } from "../plugins/host/build.ts";
import { assembleWit, KINDS, PLUGINS_DIR } from "../plugins/host/kinds.ts";
import { CliError } from "./errors.ts";

/** The repository's root. */
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

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
 * A scheduler plugin: {{name}} (skiff:scheduler@0.2.0). Filters out nodes labelled
 * \`{{name}}/avoid\`, and prefers nodes with the most free cpu. The host puts each node once and
 * again only when it changes (putNodes); a cycle names the nodes by handle (filterAndScore), so
 * keep what the plugin needs of each node, decided once, in \`held\`.
 */
import type { NodeEntry, Phases, PodView, Rejection, Verdict } from "skiff:scheduler/types@0.2.0";

/** Per node handle: what this plugin needs of the node. */
const held = new Map<number, { avoid: boolean; free: number }>();

export const scheduling = {
  configure(_settings: string): void {},
  putNodes(entries: NodeEntry[]): void {
    for (const { id, node } of entries) {
      const cpu = Number(node.allocatableMilliCpu);
      held.set(id, {
        avoid: node.labels.some((l: { key: string }) => l.key === "{{name}}/avoid"),
        free: Math.max(0, Math.min(100, Math.round((100 * (cpu - Number(node.requestedMilliCpu))) / Math.max(1, cpu)))),
      });
    }
  },
  removeNodes(ids: Uint32Array | number[]): void {
    for (const id of ids) held.delete(id);
  },
  filterAndScore(_pod: PodView, ids: Uint32Array | number[], phases: Phases): Verdict {
    const rejected: Rejection[] = [];
    const scores = new Uint32Array(phases.score ? ids.length : 0);
    for (let i = 0; i < ids.length; i++) {
      const n = held.get(ids[i]);
      if (!n) throw new Error(\`node handle \${ids[i]} was never put\`);
      if (phases.filter && n.avoid) {
        rejected.push({ index: i, code: "unschedulable", reason: "node is labelled {{name}}/avoid" });
      } else if (phases.score) scores[i] = n.free;
    }
    return { rejected, scores };
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

/** Templates copied from a plugin of the repository (its module comment replaced). */
const FROM_SOURCE: Partial<Record<PluginKind, { source: string; about: string }>> = {
  network: {
    source: "network/builtin/bridge/plugin.ts",
    about: "A network plugin: {{name}}, started from the built-in `bridge` (CNI bridge through\n" +
      " * skiff:host/host-net, addresses from the IPAM delegate the configuration's `ipam.type` names).",
  },
  ipam: {
    source: "network/builtin/host_local/plugin.ts",
    about: "An IPAM plugin: {{name}}, started from the built-in `host-local` (one address per\n" +
      " * attachment from the configured range, kept in skiff:host/state).",
  },
  runtime: {
    source: "runtime/template/plugin.ts",
    about: "",
  },
};

/** The pure OCI helpers a runtime scaffold bundles (plugins/runtime/oci/, tests left out). */
const RUNTIME_HELPERS = "runtime/oci";

async function template(kind: PluginKind, name: string): Promise<string> {
  const from = FROM_SOURCE[kind];
  let text = TEMPLATES[kind] ?? "";
  if (from) {
    text = await Deno.readTextFile(`${PLUGINS_DIR}/${from.source}`);
    if (from.about) {
      text = text.replace(/^\/\*\*[\s\S]*?@module\n \*\//, `/**\n * ${from.about}\n * Copied from plugins/${from.source}.\n */`);
    }
    text = text.replaceAll(`"../oci/`, `"./oci/`);
  }
  if (!text) throw new CliError(`no template for kind ${kind}`);
  return text.replaceAll("{{name}}", name);
}

/** The grants each kind's template uses (nothing is granted by default). */
function grants(kind: PluginKind): string {
  switch (kind) {
    case "storage":
      return "    - capability: log\n    - capability: state\n    - capability: host-mount\n";
    case "network":
      return "    - capability: log\n    - capability: state\n    - capability: host-net\n";
    case "ipam":
      return "    - capability: log\n    - capability: state\n";
    case "runtime":
      return [
        "    - capability: log",
        "    - capability: state",
        "      bounds: { maxKeys: 8192, maxBytes: 33554432 }",
        "    - capability: host-process   # granting crun is granting root on the node",
        "      bounds: { allow: [/usr/bin/crun, /usr/bin/conmon], timeoutSeconds: 30 }",
        "",
      ].join("\n");
    default:
      return "    - capability: log\n";
  }
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
${grants(kind)}  failurePolicy: Fail
  timeoutSeconds: ${kind === "runtime" ? 30 : kind === "network" ? 10 : 2}
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

/** The conformance test of the folder: the same suite and environment as `./skiff plugin test`. */
function conformanceTest(kind: PluginKind, name: string): string {
  const build = `const built = await buildPlugin({ kind: "${kind}", source: new URL("./plugin.ts", import.meta.url).pathname });
const bytes = () => Promise.resolve(built.bytes);
`;
  const header = `// The ${kind} conformance suite against this plugin's component (./skiff plugin test runs the
// same suite): deno test -A --config ${ROOT}/deno.json plugin_test.ts
import { buildPlugin } from "${ROOT}/plugins/host/build.ts";
`;
  switch (kind) {
    case "storage":
      return header + `import { runTest } from "${ROOT}/plugins/host/conformance.ts";
import { storageImpl } from "${ROOT}/node/hostcaps/storage_conformance.ts";

${build}runTest("storage", "${name}", storageImpl(bytes));
`;
    case "network":
    case "runtime": {
      const [fn, file] = kind === "network"
        ? ["networkSuite", "network_conformance.ts"]
        : ["runtimeSuite", "runtime_conformance.ts"];
      return header + `import { ${fn} } from "${ROOT}/node/hostcaps/${file}";

${build}// Needs root (${kind === "network" ? "a real bridge and network namespaces" : "real crun, conmon and a registry"}).
Deno.test("${kind} conformance: ${name}", async (t) => {
  await using suite = await ${fn}(bytes);
  for (const c of suite.cases) await t.step(c.name, () => c.fn(suite.newImpl));
});
`;
    }
    default:
      return header + `import { componentImpl, runTest } from "${ROOT}/plugins/host/conformance.ts";

${build}runTest("${kind}", "${name}", componentImpl("${kind}", built.bytes, {
  grants: [{ capability: "log" }, { capability: "state" }],
}));
`;
  }
}

/** Scaffolds a plugin folder. */
export async function scaffold(kind: PluginKind, name: string, dir: string): Promise<void> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new CliError(`plugin names are DNS labels: ${name}`, 2);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/plugin.ts`, await template(kind, name));
  if (kind === "runtime") {
    await Deno.mkdir(`${dir}/oci`, { recursive: true });
    for await (const e of Deno.readDir(`${PLUGINS_DIR}/${RUNTIME_HELPERS}`)) {
      if (!e.isFile || !e.name.endsWith(".ts") || e.name.endsWith("_test.ts")) continue;
      await Deno.copyFile(`${PLUGINS_DIR}/${RUNTIME_HELPERS}/${e.name}`, `${dir}/oci/${e.name}`);
    }
  }
  await Deno.writeTextFile(`${dir}/plugin.yaml`, manifest(kind, name));
  await assembleWit(kind, `${dir}/wit`);
  await jco(["guest-types", `${dir}/wit`, "-n", KINDS[kind].world, "-o", `${dir}/types`], dir);
  await Deno.writeTextFile(`${dir}/plugin_test.ts`, conformanceTest(kind, name));
}
