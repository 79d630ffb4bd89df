/**
 * The image half of the runtime world's `node-images` import: CRI's ImageService verbs over the
 * node's image store (`pull-image`, `list-images`, `image-status`, `remove-image`), served to a
 * runtime plugin whose `image-service` relays them, and used directly by the node when a plugin's
 * `image-service` answers `unimplemented` (node/cri/plugin/runtime_host.ts). Every verb takes and
 * returns the WIT records of `skiff:runtime@0.1.0` and throws the runtime package's error
 * variant ({@linkcode HostCallError}):
 *
 * - `invalid-argument`: a malformed reference (as {@linkcode parseReference} reads it), an image
 *   that is not a string, a Wasm component given as a container image;
 * - `not-found`: the registry has no such repository, tag or digest;
 * - `denied`: the registry refused the credentials;
 * - `failed-precondition`: removing an image a container uses;
 * - `unimplemented`: an `auth-config` with a `registry-token` (the node's registry client takes
 *   user names, passwords and identity tokens only);
 * - `internal`: anything else (an unreachable registry, a layer that escapes the root, ...).
 *
 * Messages are the registry's (or the store's): the kubelet shows them in `ErrImagePull`.
 *
 * The node waits where the plugin must not: a runner serves one call at a time, so the node
 * downloads an image ({@linkcode NodeImageService.prepare}, with the manifest it fetched to tell
 * a Wasm component from a container image) before it asks the plugin to pull it, and the
 * plugin's `pull-image` then finds it present and answers at once.
 * @module
 */
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import type { HostFunctions } from "../../../plugins/host/host_calls.ts";
import { classifyArtifact } from "../../../wasm/artifact.ts";
import type { ImageStore, StoredImage } from "../../images/image_store.ts";
import {
  type Credentials,
  decodeAuth,
  type FetchedManifest,
  type ImageReference,
  InvalidReferenceError,
  parseReference,
  RegistryError,
} from "../../registry/mod.ts";

/** WIT `auth-config` (CRI AuthConfig without `server_address`). */
export interface WitAuthConfig {
  username: string;
  password: string;
  /** base64 of `username:password` (a docker config's `auth`). */
  auth: string;
  identityToken: string;
  registryToken: string;
}

/** WIT `image-info`; `size` crosses the runner pipe as a number. */
export interface WitImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

type Tag = "invalid-argument" | "not-found" | "denied" | "failed-precondition" | "unimplemented" | "internal";

function err(tag: Tag, message: string): HostCallError {
  return new HostCallError({ tag, val: message });
}

/** An image id: the config's digest. */
const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

/** `image` as a reference; `invalid-argument` when it is none. */
export function imageReference(image: unknown): ImageReference {
  if (typeof image !== "string" || !image) throw err("invalid-argument", "no image");
  try {
    return parseReference(image);
  } catch (e) {
    const m = e instanceof InvalidReferenceError ? e.message : `Invalid image reference "${image}": ${e}`;
    throw err("invalid-argument", m);
  }
}

/** What `image-status` and `remove-image` accept: a reference or an image id. */
function imageOrId(image: unknown): string {
  if (typeof image === "string" && IMAGE_ID.test(image)) return image;
  imageReference(image);
  return image as string;
}

/** The registry credentials of an `auth-config` (pure); undefined for none. */
export function authCredentials(auth: WitAuthConfig | null | undefined): Credentials | undefined {
  if (!auth) return undefined;
  if (auth.registryToken) {
    throw err("unimplemented", "auth-config registry-token is not supported by this node's registry client");
  }
  let { username, password } = auth;
  if (!username && !password && auth.auth) {
    const basic = decodeAuth(auth.auth);
    if (!basic) throw err("invalid-argument", "auth-config auth is not base64 of user:password");
    ({ username, password } = basic);
  }
  const creds: Credentials = {};
  if (username) creds.username = username;
  if (password) creds.password = password;
  if (auth.identityToken) creds.identityToken = auth.identityToken;
  return Object.keys(creds).length ? creds : undefined;
}

/** The error variant of a failed pull (pure): the registry's status and code, its message. */
export function pullError(e: unknown): HostCallError {
  if (e instanceof HostCallError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof InvalidReferenceError) return err("invalid-argument", message);
  if (e instanceof RegistryError) {
    const code = e.code ?? "";
    if (e.status === 404 || /^(MANIFEST|NAME|BLOB)_UNKNOWN$/.test(code)) return err("not-found", message);
    if (e.status === 401 || e.status === 403 || code === "UNAUTHORIZED" || code === "DENIED") {
      return err("denied", message);
    }
  }
  return err("internal", message);
}

/** WIT `image-info` of a stored image (pure). */
export function imageInfo(i: StoredImage): WitImageInfo {
  return { id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size };
}

/** The node's image store as CRI's ImageService at the level of the WIT verbs. */
export class NodeImageService {
  readonly store: ImageStore;
  /**
   * The ids of the images containers use (their layers are the containers' rootfs): removing one
   * is `failed-precondition`, as CRI-O refuses it. Set once the node's containers are known.
   */
  inUse?: () => ReadonlySet<string>;
  /** Images the node just pulled for a plugin's `pull-image` ({@linkcode NodeImageService.prepare}). */
  readonly #prepared = new Map<string, StoredImage>();

  constructor(store: ImageStore) {
    this.store = store;
  }

  /**
   * The download of a pull, done by the node before it asks the plugin (a runner serves one call
   * at a time, and a pull may take minutes): `image` into the store (with `fetched`, its manifest
   * when the caller has it), after which the plugin's `pull-image` of the same image and `auth`
   * answers at once. Returns the function that forgets the hand-off.
   */
  async prepare(
    image: string,
    auth: WitAuthConfig | null | undefined,
    opts: { fetched?: FetchedManifest; signal?: AbortSignal } = {},
  ): Promise<() => void> {
    const img = await this.#pull(image, auth, opts);
    const key = JSON.stringify([image, auth ?? null]);
    this.#prepared.set(key, img);
    return () => {
      if (this.#prepared.get(key) === img) this.#prepared.delete(key);
    };
  }

  async #pull(
    image: unknown,
    auth: WitAuthConfig | null | undefined,
    opts: { fetched?: FetchedManifest; signal?: AbortSignal } = {},
  ): Promise<StoredImage> {
    const ref = imageReference(image);
    const credentials = authCredentials(auth);
    const present = this.store.lookup(image as string);
    // A digest names its content: present is pulled.
    if (present && ref.digest) return present;
    try {
      const signal = opts.signal;
      const fetched = opts.fetched ?? await this.store.registry.fetchManifest(ref, { credentials, signal });
      if (classifyArtifact(fetched.manifest).kind !== "container") {
        throw err("invalid-argument", `${image} is a WebAssembly component, not a container image`);
      }
      return await this.store.pull(image as string, fetched, { credentials, signal });
    } catch (e) {
      throw pullError(e);
    }
  }

  /** CRI PullImage: the image's id (an image present is not downloaded again). */
  async pullImage(image: unknown, auth?: WitAuthConfig | null): Promise<string> {
    const prepared = this.#prepared.get(JSON.stringify([image, auth ?? null]));
    if (prepared && this.store.lookup(prepared.id)) return prepared.id;
    return (await this.#pull(image, auth)).id;
  }

  /** CRI ListImages. */
  listImages(): WitImageInfo[] {
    return this.store.list().map(imageInfo);
  }

  /** CRI ImageStatus: null when the image is not on this node. */
  imageStatus(image: unknown): WitImageInfo | null {
    const found = this.store.lookup(imageOrId(image));
    return found ? imageInfo(found) : null;
  }

  /** CRI RemoveImage: idempotent; an image a container uses stays. */
  async removeImage(image: unknown): Promise<void> {
    const name = imageOrId(image);
    const found = this.store.lookup(name);
    if (found && this.inUse?.().has(found.id)) {
      throw err("failed-precondition", `image ${name} (${found.id}) is in use by a container`);
    }
    try {
      await this.store.remove(name);
    } catch (e) {
      throw err("internal", `removing ${name}: ${(e as Error).message}`);
    }
  }

  /** The verbs as `node-images` functions. */
  hostFunctions(): HostFunctions {
    return {
      "pull-image": ([image, auth]) => this.pullImage(image, auth as WitAuthConfig | null),
      "list-images": () => this.listImages(),
      "image-status": ([image]) => this.imageStatus(image),
      "remove-image": ([image]) => this.removeImage(image),
    };
  }
}
