/**
 * Image references, parsed and normalized the way Docker does (`distribution/reference`):
 * `nginx` → `docker.io/library/nginx:latest`, `127.0.0.1:5000/app@sha256:…`, `localhost/x:1`.
 * Pure.
 *
 * @example
 * ```ts
 * import { parseReference, referenceString } from "./reference.ts";
 *
 * const ref = parseReference("nginx");
 * referenceString(ref); // "docker.io/library/nginx:latest"
 * ```
 * @module
 */

/** The default registry of unqualified names. */
export const DEFAULT_REGISTRY = "docker.io";
/** Where the API of {@linkcode DEFAULT_REGISTRY} really lives. */
export const DEFAULT_REGISTRY_API_HOST = "registry-1.docker.io";
/** The tag of a reference that names neither a tag nor a digest. */
export const DEFAULT_TAG = "latest";

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host, with its port when there is one (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository path inside the registry (`library/nginx`, `team/app`). */
  repository: string;
  /** The tag, when the reference has one (defaults to `latest` when there is no digest either). */
  tag?: string;
  /** The digest (`sha256:<64 hex>`), when the reference is pinned. */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const DOMAIN_PART = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;

/** Thrown for a reference that Docker would refuse too. */
export class InvalidReferenceError extends TypeError {
  constructor(reference: string, why: string) {
    super(`Invalid image reference "${reference}": ${why}`);
    this.name = "InvalidReferenceError";
  }
}

/** Whether `s` is a digest this client can verify (`sha256:…` or `sha512:…`). */
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** Parses and normalizes an image reference; throws {@linkcode InvalidReferenceError}. */
export function parseReference(reference: string): ImageReference {
  const input = reference.trim();
  if (!input) throw new InvalidReferenceError(reference, "it is empty");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw new InvalidReferenceError(reference, `"${digest}" is not a sha256 or sha512 digest`);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(reference, `"${tag}" is not a valid tag`);
  }
  let registry = DEFAULT_REGISTRY;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase()) {
      registry = first;
      path = rest.slice(slash + 1);
      validateDomain(reference, registry);
    }
  }
  if (registry === "index.docker.io") registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !path.includes("/")) path = `library/${path}`;
  if (!path) throw new InvalidReferenceError(reference, "it names no repository");
  for (const part of path.split("/")) {
    if (!COMPONENT.test(part)) {
      throw new InvalidReferenceError(
        reference,
        `repository part "${part}" must be lowercase letters, digits and separators`,
      );
    }
  }
  if ((registry.length + 1 + path.length) > 255) {
    throw new InvalidReferenceError(reference, "the name is longer than 255 characters");
  }
  if (!tag && !digest) tag = DEFAULT_TAG;
  return { registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function validateDomain(reference: string, domain: string): void {
  let host = domain;
  const port = /:(\d+)$/.exec(domain);
  if (port) {
    host = domain.slice(0, port.index);
    if (Number(port[1]) > 65535) {
      throw new InvalidReferenceError(reference, `port ${port[1]} is out of range`);
    }
  }
  if (/^\[[0-9a-fA-F:.]+\]$/.test(host)) return;
  if (!host.split(".").every((p) => DOMAIN_PART.test(p))) {
    throw new InvalidReferenceError(reference, `"${domain}" is not a valid registry host`);
  }
}

/** `registry/repository` (the "familiar" name's full form). */
export function referenceName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalized reference: `registry/repository[:tag][@digest]`. */
export function referenceString(ref: ImageReference): string {
  return `${referenceName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The same repository pinned to `digest` (the tag is dropped, as `docker pull` reports it). */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** The host the registry API is served from (`docker.io` is `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DEFAULT_REGISTRY_API_HOST : registry;
}

/** Whether a registry is reached over plain HTTP by default: loopback hosts only, as Docker does. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "");
  return host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "[::1]";
}
