/**
 * Where each plugin kind's contract lives: its WIT package folder, its world, and the interface
 * it exports (the host finds the guest's functions there). Pure.
 * @module
 */
import type { PluginKind } from "../../control/api/plugins.ts";

/** The repository's `plugins/` folder. */
export const PLUGINS_DIR: string = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** One kind's contract. */
export interface KindContract {
  /** Folder under `plugins/` holding `wit/`. */
  dir: string;
  /** The WIT package (`skiff:admission@0.1.0`). */
  package: string;
  world: string;
  /** Exported interfaces, versioned, as the component names them. */
  exports: string[];
  /** Older versions of `exports` still loaded (each a complete set), newest first. */
  olderExports?: string[][];
  /** Host capabilities the world imports. */
  imports: string[];
  /** Loaded by the plugin host (control-plane kinds) or by node agents. */
  host: "plugin-host" | "node";
}

const v = "0.1.0";

/** Every kind's contract. */
export const KINDS: Record<PluginKind, KindContract> = {
  admission: {
    dir: "admission",
    package: `skiff:admission@${v}`,
    world: "admission-plugin",
    exports: [`skiff:admission/policy@${v}`],
    imports: ["log", "state"],
    host: "plugin-host",
  },
  scheduler: {
    dir: "scheduler",
    package: "skiff:scheduler@0.2.0",
    world: "scheduler-plugin",
    exports: ["skiff:scheduler/scheduling@0.2.0"],
    olderExports: [[`skiff:scheduler/scheduling@${v}`]],
    imports: ["log", "state"],
    host: "plugin-host",
  },
  network: {
    dir: "network",
    package: `skiff:network@${v}`,
    world: "network-plugin",
    exports: [`skiff:network/cni@${v}`],
    imports: ["log", "state", "host-net"],
    host: "node",
  },
  ipam: {
    dir: "network",
    package: `skiff:network@${v}`,
    world: "ipam-plugin",
    exports: [`skiff:network/ipam@${v}`],
    imports: ["log", "state"],
    host: "node",
  },
  storage: {
    dir: "storage",
    package: `skiff:storage@${v}`,
    world: "storage-plugin",
    exports: [`skiff:storage/identity@${v}`, `skiff:storage/controller@${v}`, `skiff:storage/node@${v}`],
    imports: ["log", "state", "host-mount"],
    host: "node",
  },
  runtime: {
    dir: "runtime",
    package: "skiff:runtime@0.2.0",
    world: "runtime-plugin",
    exports: ["skiff:runtime/runtime-service@0.2.0", "skiff:runtime/image-service@0.2.0"],
    olderExports: [[`skiff:runtime/runtime-service@${v}`, `skiff:runtime/image-service@${v}`]],
    imports: ["log", "state", "host-process", "host-mount", "host-net"],
    host: "node",
  },
};

/**
 * Copies a kind's WIT and the host package (as `deps/host/`) into `dir`, ready for componentize.
 * `witDir`: the kind's WIT from another folder (an older version, e.g. plugins/scheduler/v0_1/wit).
 */
export async function assembleWit(kind: PluginKind, dir: string, witDir = `${PLUGINS_DIR}/${KINDS[kind].dir}/wit`): Promise<void> {
  await Deno.mkdir(`${dir}/deps/host`, { recursive: true });
  for await (const e of Deno.readDir(witDir)) {
    if (e.isFile && e.name.endsWith(".wit")) await Deno.copyFile(`${witDir}/${e.name}`, `${dir}/${e.name}`);
  }
  await Deno.copyFile(`${PLUGINS_DIR}/host/wit/host.wit`, `${dir}/deps/host/host.wit`);
}

/** Finds an export of a component instance by interface name, versioned or not. */
export function findExport(exports: Record<string, unknown>, iface: string): Record<string, unknown> | undefined {
  const plain = iface.replace(/@[^@]*$/, "");
  const short = plain.split("/").pop()!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return (exports[iface] ?? exports[plain] ?? exports[short]) as Record<string, unknown> | undefined;
}
