/**
 * The built-in plugins every cluster has: Plugin objects the control plane creates at startup
 * (unless they exist; an edited or deleted one is not recreated until the next start), whose
 * `spec.image` is `builtin:<name>`. A node resolves such an image by building the component from
 * the repository's source (plugins/host/build.ts, cached by content hash) and then loads it
 * exactly as a pulled image. Only the names in {@linkcode BUILTIN_PLUGINS} are accepted by the
 * API. Pure data.
 *
 * To add a built-in: append one entry (its source under `plugins/<kind dir>/builtin/`).
 * @module
 */
import type { PluginObject, PluginSpec } from "./plugins.ts";

/** The prefix of a built-in's `spec.image`. */
export const BUILTIN_IMAGE_PREFIX = "builtin:";

/** One built-in plugin. */
export interface BuiltinPlugin {
  /** The Plugin's name, and its image `builtin:<name>`. */
  name: string;
  /** The source, relative to the repository root. */
  source: string;
  /** The spec of the default Plugin object (`image` is added). */
  spec: Omit<PluginSpec, "image">;
}

/** The built-ins, each created as a default Plugin object. */
export const BUILTIN_PLUGINS: BuiltinPlugin[] = [
  {
    name: "bridge",
    source: "plugins/network/builtin/bridge/plugin.ts",
    spec: {
      kind: "network",
      grants: [{ capability: "host-net" }, { capability: "state" }, { capability: "log" }],
      timeoutSeconds: 10,
    },
  },
  {
    // The OCI runtime driver (crun + conmon) as a component: node agents route every OCI pod
    // through the runtime Plugin that applies to them (node/cri/plugin/).
    name: "crun",
    source: "plugins/runtime/builtin/crun/plugin.ts",
    spec: {
      kind: "runtime",
      grants: [
        { capability: "log" },
        { capability: "state", bounds: { maxKeys: 8192, maxBytes: 32 << 20 } },
        {
          capability: "host-process",
          bounds: { allow: ["/usr/bin/crun", "/usr/bin/conmon"], timeoutSeconds: 30 },
        },
      ],
      timeoutSeconds: 30,
    },
  },
  {
    name: "host-local",
    source: "plugins/network/builtin/host_local/plugin.ts",
    spec: { kind: "ipam", grants: [{ capability: "state" }, { capability: "log" }], timeoutSeconds: 5 },
  },
  {
    // Storage: the `local-path.skiff.dev` CSI driver, and emptyDir/hostPath publishing
    // (`hostPaths`: bind-mount sources may be any host directory, as hostPath volumes name).
    name: "local-path",
    source: "plugins/storage/builtin/local_path/plugin.ts",
    spec: {
      kind: "storage",
      grants: [{ capability: "host-mount", bounds: { hostPaths: true } }, { capability: "state" }, {
        capability: "log",
      }],
      timeoutSeconds: 10,
    },
  },
];

/** The built-in an image names (`builtin:<name>`), if any. Pure. */
export function builtinFor(image: string): BuiltinPlugin | undefined {
  if (!image.startsWith(BUILTIN_IMAGE_PREFIX)) return undefined;
  const name = image.slice(BUILTIN_IMAGE_PREFIX.length);
  return BUILTIN_PLUGINS.find((b) => b.name === name);
}

/** Whether a Plugin runs a built-in image. Pure. */
export function isBuiltin(plugin: Pick<PluginObject, "spec">): boolean {
  return typeof plugin.spec?.image === "string" && plugin.spec.image.startsWith(BUILTIN_IMAGE_PREFIX);
}

/** The default Plugin object of a built-in. */
export function builtinPluginObject(b: BuiltinPlugin): PluginObject {
  return {
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name: b.name, labels: { "skiff.dev/builtin": "true" } },
    spec: { ...structuredClone(b.spec), image: `${BUILTIN_IMAGE_PREFIX}${b.name}` },
  };
}
