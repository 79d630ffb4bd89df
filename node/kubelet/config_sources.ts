/**
 * The ConfigMaps and Secrets pods use, read from the caches of the agent's per-object watches
 * (object_manager.ts): synchronous lookups for env vars and volumes, and which objects a pod
 * references (what it registers with the managers, so a change to one re-syncs the pods using it,
 * which is how volumes follow their ConfigMap or Secret).
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import type { KubeObject } from "../../control/api/types.ts";
import type { ConfigLookups } from "../env/env_vars.ts";
import type { VolumeLookups } from "../volumes/projection.ts";
import type { ObjectGetter } from "./object_manager.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function b64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** Secret data decoded (`stringData` merged over `data`, as the API server would). */
export function secretBytes(secret: KubeObject): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>)) out[k] = b64(v);
  for (const [k, v] of Object.entries((secret.stringData ?? {}) as Record<string, string>)) {
    out[k] = enc.encode(v);
  }
  return out;
}

/** ConfigMap data and binaryData as bytes. */
export function configMapBytes(cm: KubeObject): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) out[k] = enc.encode(v);
  for (const [k, v] of Object.entries((cm.binaryData ?? {}) as Record<string, string>)) out[k] = b64(v);
  return out;
}

/** Lookups for env vars over the object caches (string values). */
export function envLookups(
  configMaps: ObjectGetter,
  secrets: ObjectGetter,
  allocatable: () => Record<string, string>,
): ConfigLookups {
  return {
    configMap(ns, name) {
      const cm = configMaps.get(ns, name);
      return cm ? { ...(cm.data ?? {}) } : undefined;
    },
    secret(ns, name) {
      const s = secrets.get(ns, name);
      if (!s) return undefined;
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(secretBytes(s))) data[k] = dec.decode(v);
      return data;
    },
    get allocatable() {
      return allocatable();
    },
  };
}

/** Lookups for volumes over the object caches (bytes). */
export function volumeLookups(
  configMaps: ObjectGetter,
  secrets: ObjectGetter,
  allocatable: () => Record<string, string>,
): VolumeLookups {
  return {
    configMap(ns, name) {
      const cm = configMaps.get(ns, name);
      return cm ? { data: configMapBytes(cm) } : undefined;
    },
    secret(ns, name) {
      const s = secrets.get(ns, name);
      return s ? { data: secretBytes(s) } : undefined;
    },
    get allocatable() {
      return allocatable();
    },
  };
}

/** The ConfigMaps and Secrets a pod names (env, envFrom, volumes, projections, imagePullSecrets). */
export function podReferences(pod: Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = pod.spec;
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name) secrets.add(f.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const v of spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  for (const s of spec?.imagePullSecrets ?? []) if (s.name) secrets.add(s.name);
  return { configMaps, secrets };
}
