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
 * `resolve-image` reads an image's `/etc/passwd` and `/etc/group` once: its answer is kept per
 * stored image (layers never change; a re-pull stores a new image, a removed one is not found).
 *
 * The containers directory is marked as the top of directory hierarchies (node/images/top_dir.ts):
 * each bundle's inodes (its directories and files, overlayfs' work directory made by the mount)
 * then go to a quiet ext4 block group instead of the containers directory's own, where, without a
 * journal, every new inode skips the ones freed in the last minutes (removed bundles, a busy
 * `/tmp`), up to ≈0.5 ms each: 1.5–5 ms of a `prepare-bundle` on these machines. The bundle's own
 * directory then costs ≈0.5 ms (a block group not used yet), so the directories of the next
 * bundle are made while the spawner mounts this one's rootfs (`<containers>/.spare-<uuid>`, never
 * a container id: an agent that restarts removes it as a leftover), and renamed into place.
 *
 * Errors are the runtime package's variant (`invalid-argument`, `not-found`, `internal`).
 * @module
 */
import type { HostFunctions } from "../../../plugins/host/host_calls.ts";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import type { ImageStore, StoredImage } from "../../images/image_store.ts";
import { markTopDir } from "../../images/top_dir.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import type { SeccompProfile } from "../../../plugins/runtime/oci/seccomp.ts";
import { SECCOMP_BPF_ANNOTATION, type SeccompBpfCache } from "../oci/seccomp_bpf.ts";
import { copyRootfs, overlayMount, readImageFile, type RootfsMode, unmountRootfs } from "../oci/rootfs.ts";

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

const BUNDLE_DIRS = ["rootfs", "upper", "work", "persist"];

/** Makes a bundle's directories. */
function makeBundleDirs(bundle: string): void {
  // Synchronous: a few metadata calls cost less on the agent's thread than as many round trips
  // through the blocking-op pool.
  for (const d of BUNDLE_DIRS) Deno.mkdirSync(`${bundle}/${d}`, { recursive: true });
}

/** The directories of a bundle to come (see the module's doc); undefined when they cannot be made. */
function makeSpare(containers: string): string | undefined {
  const spare = `${containers}/.spare-${crypto.randomUUID()}`;
  try {
    makeBundleDirs(spare);
    return spare;
  } catch {
    return undefined;
  }
}

/** Moves the spare's directories to `bundle`; false when that fails (the spare is then removed). */
function takeSpare(spare: string, bundle: string): boolean {
  try {
    Deno.renameSync(spare, bundle);
    return true;
  } catch {
    try {
      Deno.removeSync(spare, { recursive: true });
    } catch { /* gone */ }
    return false;
  }
}

/** What `resolve-image` answers for an image. */
interface ResolvedImage {
  id: string;
  ref: string;
  /** The image config's `config`, as JSON. */
  config: string;
  passwd: string;
  group: string;
}

async function resolve(images: ImageStore, img: StoredImage): Promise<ResolvedImage> {
  const layers = img.layers.map((l) => images.layerPath(l));
  return {
    id: img.id,
    ref: img.ref,
    config: JSON.stringify(img.config.config ?? {}),
    passwd: (await readImageFile(layers, "/etc/passwd")) ?? "",
    group: (await readImageFile(layers, "/etc/group")) ?? "",
  };
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
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
  // Layers never change once unpacked: an image's answer is made once (a failed one is not kept).
  const resolved = new WeakMap<StoredImage, Promise<ResolvedImage>>();
  // Once, before the first bundle: bundles then start in quiet block groups (see above). A hint:
  // a directory that cannot be made now fails the first `prepare-bundle` with its reason.
  try {
    Deno.mkdirSync(o.containers, { recursive: true });
    markTopDir(o.containers);
  } catch { /* no hint */ }
  let spare: string | undefined;
  return {
    async "resolve-image"([image]) {
      if (typeof image !== "string" || !image) throw err("invalid-argument", "no image");
      const img = o.images.lookup(image);
      if (!img) throw err("not-found", `image "${image}" is not present on this node`);
      o.images.touch(img);
      let answer = resolved.get(img);
      if (!answer) {
        answer = resolve(o.images, img);
        resolved.set(img, answer);
        answer.catch(() => resolved.delete(img));
      }
      return await answer;
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
        // A bundle made now has nothing mounted on its rootfs (no need to read the mount table).
        const fresh = !exists(`${bundle}/rootfs`);
        let taken = false;
        if (fresh && spare) {
          taken = takeSpare(spare, bundle);
          spare = undefined;
        }
        if (!taken) makeBundleDirs(bundle);
        Deno.writeTextFileSync(`${bundle}/termination-log`, "");
        Deno.writeTextFileSync(`${bundle}/config.json`, config);
        let rootfs: Promise<void> | undefined;
        if (o.rootfsMode === "copy") {
          rootfs = copyRootfs(img.layers.map((l) => o.images.layerPath(l)), `${bundle}/rootfs`);
        } else if (fresh || !mounted(`${bundle}/rootfs`)) {
          // Absolute layer paths when the options fit mount(2)'s page and the directory has no
          // character overlayfs' options treat specially (no shell to change directory first);
          // relative names from the layers' directory otherwise.
          // mount(2) by the mount namespace's spawner (else the `mount` command).
          const full = overlayMount(img.layers.map((l) => o.images.layerPath(l)), bundle);
          if (full.data.length < MAX_MOUNT_OPTIONS && !/[:,\\]/.test(o.images.layersDir)) {
            rootfs = o.ns.mount(full);
          } else {
            const names = img.layers.map((l) => l.slice(l.indexOf(":") + 1));
            rootfs = o.ns.mount({ ...overlayMount(names, bundle), wd: o.images.layersDir });
          }
        }
        // While the spawner mounts: the next bundle's directories.
        spare ??= makeSpare(o.containers);
        await rootfs;
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
