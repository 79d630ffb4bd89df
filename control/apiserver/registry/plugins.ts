/**
 * skiff.dev/v1alpha1 `plugins`: Wasm plugins loaded at run time (docs/plugins.md). Cluster
 * scoped. The schema table has no type for it, so it prunes unknown fields itself (as a CRD's
 * structural schema does: `spec.config` and `spec.grants[].bounds` keep whatever they hold) and
 * validates its own spec.
 * @module
 */
import {
  CAPABILITIES,
  parseBytes,
  PLUGIN_KINDS,
  type PluginComponentStatus,
} from "../../api/plugins.ts";
import { BUILTIN_IMAGE_PREFIX, BUILTIN_PLUGINS, builtinFor } from "../../api/builtin_plugins.ts";
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

/** Known fields: `true` keeps a value as is, an object describes an object, `[x]` a list of x. */
type Shape = true | { [k: string]: Shape } | [Shape];

const SPEC: Shape = {
  kind: true,
  image: true,
  config: true,
  grants: [{ capability: true, bounds: true }],
  nodeSelector: true,
  admission: {
    rules: [{ operations: true, apiGroups: true, apiVersions: true, resources: true }],
    namespaces: true,
    excludeNamespaces: true,
    mutating: true,
    order: true,
  },
  scheduler: { profile: true, filter: true, score: true, weight: true },
  failurePolicy: true,
  timeoutSeconds: true,
  memory: true,
};
const CONDITION: Shape = { type: true, status: true, reason: true, message: true, lastTransitionTime: true };
const STATUS: Shape = {
  components: [{
    name: true,
    digest: true,
    observedGeneration: true,
    conditions: [CONDITION],
    lastError: { message: true, reason: true, time: true, count: true },
  }],
};

function prune(value: unknown, shape: Shape, path: string, out: string[]): void {
  if (shape === true || value === null || typeof value !== "object") return;
  if (Array.isArray(shape)) {
    if (Array.isArray(value)) value.forEach((v, i) => prune(v, shape[0], `${path}[${i}]`, out));
    return;
  }
  if (Array.isArray(value)) return;
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    const p = path ? `${path}.${k}` : k;
    if (!(k in shape)) {
      delete obj[k];
      out.push(p);
    } else prune(obj[k], shape[k], p, out);
  }
}

/** Removes unknown fields of a Plugin in place; returns their paths. */
export function prunePlugin(obj: KubeObject): string[] {
  const out: string[] = [];
  for (const k of Object.keys(obj)) {
    if (!["apiVersion", "kind", "metadata", "spec", "status"].includes(k)) {
      delete (obj as Record<string, unknown>)[k];
      out.push(k);
    }
  }
  prune(obj.spec, SPEC, "spec", out);
  prune(obj.status, STATUS, "status", out);
  return out;
}

const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

function stringList(v: unknown, path: string, errs: StatusCause[]): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    errs.push(fieldError.invalid(path, v, "must be a list of strings"));
    return [];
  }
  return v;
}

/** Validates a Plugin (create and update). */
export function validatePlugin(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const spec = obj.spec;
  if (!spec || typeof spec !== "object") return [...errs, fieldError.required("spec")];
  if (!spec.kind) errs.push(fieldError.required("spec.kind"));
  else if (!PLUGIN_KINDS.includes(spec.kind)) errs.push(fieldError.notSupported("spec.kind", spec.kind, [...PLUGIN_KINDS]));
  if (!spec.image) errs.push(fieldError.required("spec.image"));
  else if (typeof spec.image === "string" && spec.image.startsWith(BUILTIN_IMAGE_PREFIX)) {
    const b = builtinFor(spec.image);
    if (!b) {
      errs.push(fieldError.notSupported("spec.image", spec.image, BUILTIN_PLUGINS.map((x) => `${BUILTIN_IMAGE_PREFIX}${x.name}`)));
    } else if (spec.kind && spec.kind !== b.spec.kind) {
      errs.push(fieldError.invalid("spec.image", spec.image, `is a ${b.spec.kind} plugin, not ${spec.kind}`));
    }
  } else if (typeof spec.image !== "string" || /\s/.test(spec.image) || !/^[^/]+\/.+/.test(spec.image)) {
    errs.push(fieldError.invalid("spec.image", spec.image, "must be a registry reference (host/repository:tag or @sha256:digest) or builtin:<name>"));
  }
  const seen = new Set<string>();
  (Array.isArray(spec.grants) ? spec.grants : spec.grants === undefined ? [] : [null]).forEach(
    (g: { capability?: string; bounds?: unknown } | null, i: number) => {
      const p = `spec.grants[${i}]`;
      if (!g || typeof g !== "object") {
        errs.push(fieldError.invalid(p, g, "must be an object"));
        return;
      }
      if (!g.capability) errs.push(fieldError.required(`${p}.capability`));
      else if (!(CAPABILITIES as readonly string[]).includes(g.capability)) {
        errs.push(fieldError.notSupported(`${p}.capability`, g.capability, [...CAPABILITIES]));
      } else if (seen.has(g.capability)) errs.push(fieldError.duplicate(`${p}.capability`, g.capability));
      seen.add(g.capability ?? "");
      if (g.bounds !== undefined && (typeof g.bounds !== "object" || g.bounds === null || Array.isArray(g.bounds))) {
        errs.push(fieldError.invalid(`${p}.bounds`, g.bounds, "must be an object"));
      }
    },
  );
  if (spec.failurePolicy !== undefined && !["Fail", "Ignore"].includes(spec.failurePolicy)) {
    errs.push(fieldError.notSupported("spec.failurePolicy", spec.failurePolicy, ["Fail", "Ignore"]));
  }
  const t = spec.timeoutSeconds;
  if (t !== undefined && !(Number.isInteger(t) && t >= 1 && t <= 30)) {
    errs.push(fieldError.invalid("spec.timeoutSeconds", t, "the timeout value must be between 1 and 30 seconds"));
  }
  if (spec.memory !== undefined) {
    const bytes = typeof spec.memory === "string" ? parseBytes(spec.memory) : NaN;
    if (!(bytes >= 1024 * 1024 && bytes <= 4 * 1024 ** 3)) {
      errs.push(fieldError.invalid("spec.memory", spec.memory, "must be a quantity between 1Mi and 4Gi"));
    }
  }
  if (spec.nodeSelector !== undefined) {
    const ns = spec.nodeSelector;
    if (typeof ns !== "object" || ns === null || Object.values(ns).some((v) => typeof v !== "string")) {
      errs.push(fieldError.invalid("spec.nodeSelector", ns, "must map label keys to string values"));
    }
  }
  const adm = spec.admission;
  if (adm !== undefined) {
    if (spec.kind !== "admission") errs.push(fieldError.forbidden("spec.admission", "may only be set for kind admission"));
    (Array.isArray(adm.rules) ? adm.rules : []).forEach((r: Record<string, unknown>, i: number) => {
      const p = `spec.admission.rules[${i}]`;
      for (const op of stringList(r.operations, `${p}.operations`, errs)) {
        if (!OPERATIONS.includes(op)) errs.push(fieldError.notSupported(`${p}.operations`, op, OPERATIONS));
      }
      stringList(r.apiGroups, `${p}.apiGroups`, errs);
      stringList(r.apiVersions, `${p}.apiVersions`, errs);
      for (const res of stringList(r.resources, `${p}.resources`, errs)) {
        if (res.split("/").length > 2 || res === "") errs.push(fieldError.invalid(`${p}.resources`, res, "must be resource or resource/subresource"));
      }
    });
    stringList(adm.namespaces, "spec.admission.namespaces", errs);
    stringList(adm.excludeNamespaces, "spec.admission.excludeNamespaces", errs);
    if (adm.order !== undefined && !Number.isInteger(adm.order)) {
      errs.push(fieldError.invalid("spec.admission.order", adm.order, "must be an integer"));
    }
  }
  const sch = spec.scheduler;
  if (sch !== undefined) {
    if (spec.kind !== "scheduler") errs.push(fieldError.forbidden("spec.scheduler", "may only be set for kind scheduler"));
    if (sch.weight !== undefined && !(Number.isInteger(sch.weight) && sch.weight >= 1 && sch.weight <= 100)) {
      errs.push(fieldError.invalid("spec.scheduler.weight", sch.weight, "must be between 1 and 100"));
    }
  }
  return errs;
}

function readyCell(obj: KubeObject): string {
  const comps: PluginComponentStatus[] = obj.status?.components ?? [];
  const ready = comps.filter((c) => c.conditions?.some((x) => x.type === "Ready" && x.status === "True")).length;
  return `${ready}/${comps.length}`;
}

/** Plugins. */
export const plugins: ResourceDef = {
  group: "skiff.dev",
  version: "v1alpha1",
  kind: "Plugin",
  listKind: "PluginList",
  plural: "plugins",
  singular: "plugin",
  namespaced: false,
  shortNames: ["plg"],
  generation: true,
  // A skiff kind: no upstream protobuf message, so protobuf bodies get 415 as a CR's would.
  protobuf: false,
  subresources: { status: true },
  pruneUnknown: prunePlugin,
  defaults(obj) {
    if (!obj.spec || typeof obj.spec !== "object") return;
    obj.spec.failurePolicy ??= "Fail";
    obj.spec.timeoutSeconds ??= 10;
    obj.spec.memory ??= "64Mi";
  },
  validate: validatePlugin,
  table: {
    columns: [
      nameColumn,
      column("Kind", "The plugin kind: admission, scheduler, runtime, network, ipam or storage."),
      column("Image", "The OCI Wasm artifact."),
      column("Ready", "Hosts running it ready, of those loading it."),
      column("Digest", "The digest the plugin host runs.", { wide: true }),
      ageColumn,
    ],
    cells: (obj, now) => [
      obj.metadata?.name ?? "",
      obj.spec?.kind ?? "",
      obj.spec?.image ?? "",
      readyCell(obj),
      (obj.status?.components ?? [])[0]?.digest ?? "",
      age(obj, now),
    ],
  },
};
