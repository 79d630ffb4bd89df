/**
 * Server-managed object metadata: what the API server sets on create and keeps on update
 * (uid, creationTimestamp, generation, deletion fields), as upstream's `BeforeCreate` /
 * `BeforeUpdate` do.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";

let lastSecond = NaN;
let lastText = "";

/** RFC 3339 with second precision, as Kubernetes writes timestamps (formatted once per second). */
export function timestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().replace(".000Z", "Z");
    lastSecond = second;
  }
  return lastText;
}

const NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789";

/** upstream's `SimpleNameGenerator`: the prefix (cut to fit) plus five random characters. */
export function generateName(prefix: string): string {
  const base = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  let suffix = "";
  const bytes = crypto.getRandomValues(new Uint8Array(5));
  for (const b of bytes) suffix += NAME_SUFFIX_CHARS[b % NAME_SUFFIX_CHARS.length];
  return base + suffix;
}

/** Fills server-managed metadata of a new object in place. */
export function prepareForCreate(obj: KubeObject, def: ResourceDef, now: number): void {
  const m = obj.metadata;
  m.uid = crypto.randomUUID();
  m.creationTimestamp = timestamp(now);
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete m.resourceVersion;
  delete m.selfLink;
  delete m.managedFields;
  if (def.generation) m.generation = 1;
  else delete m.generation;
  if (m.labels && Object.keys(m.labels).length === 0) delete m.labels;
  if (m.annotations && Object.keys(m.annotations).length === 0) delete m.annotations;
}

/** Everything but metadata and status: a change here bumps `metadata.generation`. */
function specOf(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/**
 * Carries server-managed metadata from the stored object onto an update, and bumps generation when
 * the spec changed (or deletion started). `obj` is modified in place.
 */
export function prepareForUpdate(obj: KubeObject, old: KubeObject, def: ResourceDef): void {
  const m = obj.metadata;
  const o = old.metadata;
  m.uid = o.uid;
  m.creationTimestamp = o.creationTimestamp;
  m.name = o.name;
  if (o.namespace !== undefined) m.namespace = o.namespace;
  else delete m.namespace;
  // Deletion fields are set only by DELETE.
  if (o.deletionTimestamp) m.deletionTimestamp = o.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (o.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  delete m.selfLink;
  delete m.managedFields;
  if (m.labels && Object.keys(m.labels).length === 0) delete m.labels;
  if (m.annotations && Object.keys(m.annotations).length === 0) delete m.annotations;
  if (m.finalizers && m.finalizers.length === 0) delete m.finalizers;
  if (def.generation) {
    m.generation = o.generation ?? 1;
    if (!deepEqual(specOf(obj), specOf(old))) m.generation++;
  } else if (o.generation !== undefined) m.generation = o.generation;
  else delete m.generation;
}

/** Finalizers that a DELETE with a propagation policy adds. */
export const FOREGROUND = "foregroundDeletion";
export const ORPHAN = "orphan";
