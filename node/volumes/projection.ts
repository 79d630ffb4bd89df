/**
 * The files a configMap, secret, downwardAPI or projected volume holds, computed from the pod and
 * the objects it names: `items` (key → path, per-item mode), `defaultMode`, `optional`, downward
 * API fields, and ServiceAccount tokens (fetched beforehand by token_manager.ts and looked up
 * here). Pure; `atomic_writer.ts` puts them on disk.
 *
 * @example
 * ```ts
 * const files = volumeFiles(pod, pod.spec!.volumes![0], lookups);
 * // Map { "app.conf" => { data: Uint8Array, mode: 0o644 } }
 * ```
 * @module
 */
import type { Pod, ServiceAccountTokenProjection, Volume } from "kubernetes-types/core/v1.d.ts";
import { FieldPathError, podFieldValue, resourceFieldValue } from "../env/field_path.ts";

/** Thrown when a volume cannot be set up; the pod gets a `FailedMount` event with this message. */
export class MountError extends Error {
  override name = "MountError";
}

/** One file of a projected volume. */
export interface ProjectedFile {
  data: Uint8Array;
  mode: number;
}

/** ConfigMap and Secret contents by namespace and name (Secret data as raw bytes). */
export interface VolumeLookups {
  configMap(namespace: string, name: string): { data: Record<string, Uint8Array> } | undefined;
  secret(namespace: string, name: string): { data: Record<string, Uint8Array> } | undefined;
  allocatable: Record<string, string>;
  /** The token for a `serviceAccountToken` projection of this pod; undefined when this node has none. */
  serviceAccountToken?(source: ServiceAccountTokenProjection): string | undefined;
}

type KeyToPath = { key: string; path: string; mode?: number };

const enc = new TextEncoder();

function checkPath(path: string) {
  if (
    !path || path.startsWith("/") || path.split("/").some((p) => p === ".." || p === "") ||
    path.startsWith("..")
  ) {
    throw new MountError(`invalid path "${path}" in volume items`);
  }
}

function fromKeys(
  what: string,
  data: Record<string, Uint8Array>,
  items: KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
  out: Map<string, ProjectedFile>,
) {
  if (!items?.length) {
    for (const [key, value] of Object.entries(data)) out.set(key, { data: value, mode });
    return;
  }
  for (const item of items) {
    checkPath(item.path);
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new MountError(`configuration error: key "${item.key}" does not exist in ${what}`);
    }
    out.set(item.path, { data: value, mode: item.mode ?? mode });
  }
}

/** The files of a configMap, secret, downwardAPI or projected volume; null for other kinds. */
export function volumeFiles(
  pod: Pod,
  volume: Volume,
  lookups: VolumeLookups,
): Map<string, ProjectedFile> | null {
  const ns = pod.metadata?.namespace ?? "default";
  const out = new Map<string, ProjectedFile>();
  if (volume.configMap) {
    const v = volume.configMap;
    addConfigMap(ns, v.name ?? "", v.items, v.defaultMode ?? 0o644, v.optional ?? false, lookups, out);
    return out;
  }
  if (volume.secret) {
    const v = volume.secret;
    addSecret(ns, v.secretName ?? "", v.items, v.defaultMode ?? 0o644, v.optional ?? false, lookups, out);
    return out;
  }
  if (volume.downwardAPI) {
    addDownward(pod, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode ?? 0o644, lookups, out);
    return out;
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? 0o644;
    for (const s of volume.projected.sources ?? []) {
      if (s.configMap) {
        addConfigMap(
          ns,
          s.configMap.name ?? "",
          s.configMap.items,
          mode,
          s.configMap.optional ?? false,
          lookups,
          out,
        );
      } else if (s.secret) {
        addSecret(ns, s.secret.name ?? "", s.secret.items, mode, s.secret.optional ?? false, lookups, out);
      } else if (s.downwardAPI) addDownward(pod, s.downwardAPI.items ?? [], mode, lookups, out);
      else if (s.serviceAccountToken) {
        checkPath(s.serviceAccountToken.path);
        const token = lookups.serviceAccountToken?.(s.serviceAccountToken);
        if (token === undefined) throw new MountError("no ServiceAccount token for this projection");
        out.set(s.serviceAccountToken.path, { data: enc.encode(token), mode });
      } else throw new MountError("unsupported projected volume source");
    }
    return out;
  }
  return null;
}

function addConfigMap(
  ns: string,
  name: string,
  items: KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
  lookups: VolumeLookups,
  out: Map<string, ProjectedFile>,
) {
  const cm = lookups.configMap(ns, name);
  if (!cm) {
    if (optional) return;
    throw new MountError(`configmap "${name}" not found`);
  }
  fromKeys(`ConfigMap ${ns}/${name}`, cm.data, items, mode, optional, out);
}

function addSecret(
  ns: string,
  name: string,
  items: KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
  lookups: VolumeLookups,
  out: Map<string, ProjectedFile>,
) {
  const s = lookups.secret(ns, name);
  if (!s) {
    if (optional) return;
    throw new MountError(`secret "${name}" not found`);
  }
  fromKeys(`Secret ${ns}/${name}`, s.data, items, mode, optional, out);
}

type DownwardItem = NonNullable<NonNullable<Volume["downwardAPI"]>["items"]>[number];

function addDownward(
  pod: Pod,
  items: DownwardItem[],
  mode: number,
  lookups: VolumeLookups,
  out: Map<string, ProjectedFile>,
) {
  for (const item of items) {
    checkPath(item.path);
    let value: string;
    try {
      if (item.fieldRef) value = podFieldValue(pod, item.fieldRef.fieldPath, { volume: true });
      else if (item.resourceFieldRef) {
        const name = item.resourceFieldRef.containerName;
        const c = pod.spec?.containers.find((c) => c.name === name);
        if (!c) throw new MountError(`container "${name}" not found for resourceFieldRef of "${item.path}"`);
        value = resourceFieldValue(c, item.resourceFieldRef, lookups.allocatable);
      } else continue;
    } catch (e) {
      if (e instanceof FieldPathError) throw new MountError(e.message);
      throw e;
    }
    out.set(item.path, { data: enc.encode(value), mode: item.mode ?? mode });
  }
}
