/**
 * The runtime world's `node-images` import (`skiff:runtime/node-images@0.1.0`), served by the
 * node for a runtime plugin: images come from the node's image store (pulled and unpacked by the
 * node), and container bundles are made and removed here, under the node's containers directory
 * only. Bounds:
 *
 * - a container id is `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}` (no `/`, no `..`): its bundle is
 *   `<containers>/<id>` and nothing else;
 * - `config.json` is at most 1 MiB of JSON whose `root.path` is the bundle's `rootfs`;
 * - the rootfs is an overlay over the image's layer directories (or a copy of them), mounted in
 *   the agent's mount namespace.
 *
 * Errors are the runtime package's variant (`invalid-argument`, `not-found`, `internal`).
 * @module
 */
import type { HostFunctions } from "../../../plugins/host/host_calls.ts";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import type { ImageStore } from "../../images/image_store.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import type { SeccompProfile } from "../../../plugins/runtime/oci/seccomp.ts";
import { SECCOMP_BPF_ANNOTATION, type SeccompBpfCache } from "../oci/seccomp_bpf.ts";
import {
  copyRootfs,
  overlayMount,
  readImageFile,
  type RootfsMode,
  unmountRootfs,
} from "../oci/rootfs.ts";

export interface NodeImagesOptions {
  images: ImageStore;
  ns: MountNamespace;
  /** Bundles live in `<containers>/<id>`. */
  containers: string;
  /** conmon's exit files (`<exits>/<id>`), removed with the bundle. */
  exits: string;
  rootfsMode: RootfsMode;
  /** Filters crun compiled: a config.json whose profile has one gets crun's annotation for it. */
  seccompFilters?: SeccompBpfCache;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_CONFIG = 1 << 20;
/** mount(2) copies at most a page of options. */
const MAX_MOUNT_OPTIONS = 4000;

function err(tag: "invalid-argument" | "not-found" | "internal", message: string): HostCallError {
  return new HostCallError({ tag, val: message });
}

function containerId(v: unknown): string {
  if (typeof v !== "string" || !ID.test(v) || v.includes("..")) {
    throw err("invalid-argument", `${JSON.stringify(v)} is not a container id`);
  }
  return v;
}

function mounted(path: string): boolean {
  try {
    return Deno.readTextFileSync("/proc/self/mountinfo").includes(` ${path} `);
  } catch {
    return false;
  }
}

/** The bundle of `id` (pure). */
export function bundleOf(containers: string, id: string): string {
  return `${containers}/${id}`;
}

/** The functions of `node-images`. */
export function nodeImages(o: NodeImagesOptions): HostFunctions {
  const byId = (imageId: string) => o.images.list().find((i) => i.id === imageId);
  return {
    async "resolve-image"([image]) {
      if (typeof image !== "string" || !image) throw err("invalid-argument", "no image");
      const img = o.images.lookup(image);
      if (!img) throw err("not-found", `image "${image}" is not present on this node`);
      o.images.touch(img);
      const layers = img.layers.map((l) => o.images.layerPath(l));
      return {
        id: img.id,
        ref: img.ref,
        config: JSON.stringify(img.config.config ?? {}),
        passwd: (await readImageFile(layers, "/etc/passwd")) ?? "",
        group: (await readImageFile(layers, "/etc/group")) ?? "",
      };
    },

    async "prepare-bundle"([id, imageId, asked]) {
      const cid = containerId(id);
      if (typeof asked !== "string" || asked.length > MAX_CONFIG) {
        throw err("invalid-argument", "config.json must be at most 1 MiB");
      }
      let config = asked;
      const bundle = bundleOf(o.containers, cid);
      let spec: {
        root?: { path?: string };
        annotations?: Record<string, string>;
        linux?: { seccomp?: SeccompProfile };
      };
      try {
        spec = JSON.parse(config);
      } catch {
        throw err("invalid-argument", "config.json is not JSON");
      }
      if (spec?.root?.path !== `${bundle}/rootfs`) {
        throw err("invalid-argument", `config.json's root.path must be ${bundle}/rootfs`);
      }
      // An optimization of the node's, not a decision of the plugin's: the same profile gets the
      // filter crun compiled for it before (node/cri/oci/seccomp_bpf.ts).
      const filter = spec.linux?.seccomp && o.seccompFilters?.lookup(spec.linux.seccomp);
      if (filter) {
        config = JSON.stringify({
          ...spec,
          annotations: { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: filter },
        });
      }
      const img = typeof imageId === "string" ? byId(imageId) : undefined;
      if (!img) throw err("not-found", `image ${JSON.stringify(imageId)} is not present on this node`);
      try {
        // Synchronous: a few metadata calls cost less on the agent's thread than as many round
        // trips through the blocking-op pool.
        for (const d of ["rootfs", "upper", "work", "persist"]) {
          Deno.mkdirSync(`${bundle}/${d}`, { recursive: true });
        }
        Deno.writeTextFileSync(`${bundle}/termination-log`, "");
        Deno.writeTextFileSync(`${bundle}/config.json`, config);
        if (o.rootfsMode === "copy") {
          await copyRootfs(img.layers.map((l) => o.images.layerPath(l)), `${bundle}/rootfs`);
        } else if (!mounted(`${bundle}/rootfs`)) {
          // Absolute layer paths when the options fit mount(2)'s page and the directory has no
          // character overlayfs' options treat specially (no shell to change directory first);
          // relative names from the layers' directory otherwise.
          // mount(2) by the mount namespace's spawner (else the `mount` command).
          const full = overlayMount(img.layers.map((l) => o.images.layerPath(l)), bundle);
          if (full.data.length < MAX_MOUNT_OPTIONS && !/[:,\\]/.test(o.images.layersDir)) {
            await o.ns.mount(full);
          } else {
            const names = img.layers.map((l) => l.slice(l.indexOf(":") + 1));
            await o.ns.mount({ ...overlayMount(names, bundle), wd: o.images.layersDir });
          }
        }
      } catch (e) {
        throw err("internal", `preparing the bundle of ${cid}: ${(e as Error).message}`);
      }
      return bundle;
    },

    async "remove-bundle"([id]) {
      const cid = containerId(id);
      const bundle = bundleOf(o.containers, cid);
      await unmountRootfs(o.ns, `${bundle}/rootfs`);
      await Deno.remove(bundle, { recursive: true }).catch(() => {});
      await Deno.remove(`${o.exits}/${cid}`).catch(() => {});
    },
  };
}
