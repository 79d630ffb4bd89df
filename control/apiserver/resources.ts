/**
 * The set of resources the API server serves: built-in kinds plus the custom resources of
 * established CRDs. Lookups by URL (group, version, plural) and by kind; group order for discovery.
 * @module
 */
import { type ResourceDef, resourceKey, selectableFields } from "../api/resource.ts";
import { apiVersionOf } from "../api/types.ts";
import type { StoreResource } from "../store/mod.ts";

/** A served resource: its definition plus what the store needs. */
export interface Served {
  def: ResourceDef;
  store: StoreResource;
  apiVersion: string;
  /** True for custom resources (from a CRD). */
  custom: boolean;
}

/** Discovery order of the built-in groups, as kube-apiserver lists them. */
const GROUP_ORDER = [
  "",
  "apps",
  "events.k8s.io",
  "authentication.k8s.io",
  "authorization.k8s.io",
  "autoscaling",
  "batch",
  "certificates.k8s.io",
  "networking.k8s.io",
  "policy",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "scheduling.k8s.io",
  "coordination.k8s.io",
  "node.k8s.io",
  "discovery.k8s.io",
  "flowcontrol.apiserver.k8s.io",
  "resource.k8s.io",
  "skiff.dev",
];

export function served(def: ResourceDef, custom = false): Served {
  return {
    def,
    custom,
    apiVersion: apiVersionOf(def.group, def.version),
    store: {
      key: resourceKey(def),
      gr: { group: def.group, resource: def.plural },
      fields: (obj) => selectableFields(def, obj),
    },
  };
}

export class ResourceRegistry {
  #byPath = new Map<string, Served>();
  #builtinKeys = new Set<string>();
  /** Bumped on every change; discovery and OpenAPI documents hash it. */
  generation = 0;

  constructor(builtins: ResourceDef[]) {
    for (const def of builtins) {
      const s = served(def);
      this.#byPath.set(pathKey(def.group, def.version, def.plural), s);
      this.#builtinKeys.add(pathKey(def.group, def.version, def.plural));
    }
  }

  /** The resource served at `/apis/{group}/{version}/{plural}`. */
  lookup(group: string, version: string, plural: string): Served | undefined {
    return this.#byPath.get(pathKey(group, version, plural));
  }

  /** Whether a group/version is served at all (for 404 vs. discovery). */
  hasGroupVersion(group: string, version: string): boolean {
    for (const s of this.#byPath.values()) if (s.def.group === group && s.def.version === version) return true;
    return false;
  }

  /** Finds the resource of a kind in a group (any served version). */
  byKind(group: string, kind: string): Served | undefined {
    for (const s of this.#byPath.values()) if (s.def.group === group && s.def.kind === kind) return s;
    return undefined;
  }

  all(): Served[] {
    return [...this.#byPath.values()];
  }

  /** Group names in discovery order: built-ins first (upstream's order), then custom groups A–Z. */
  groups(): string[] {
    const names = new Set(this.all().map((s) => s.def.group));
    const known = GROUP_ORDER.filter((g) => names.has(g));
    const rest = [...names].filter((g) => !GROUP_ORDER.includes(g)).sort();
    return [...known, ...rest];
  }

  /** Served versions of a group, preferred first. */
  versions(group: string): string[] {
    const vs = [...new Set(this.all().filter((s) => s.def.group === group).map((s) => s.def.version))];
    return vs.sort(compareVersions);
  }

  /** Replaces the custom resources of one CRD (by CRD name); an empty list removes them. */
  setCustom(crdName: string, defs: ResourceDef[]) {
    for (const [k, s] of this.#byPath) {
      if (s.custom && crdOf(s) === crdName) this.#byPath.delete(k);
    }
    for (const def of defs) {
      const k = pathKey(def.group, def.version, def.plural);
      if (this.#builtinKeys.has(k)) continue; // a CRD never shadows a built-in resource
      this.#byPath.set(k, served(def, true));
    }
    this.generation++;
  }
}

function crdOf(s: Served): string {
  return `${s.def.plural}.${s.def.group}`;
}

function pathKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (`v1` > `v1beta2` > `v1alpha1`). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = v.match(/^v(\d+)(?:(alpha|beta)(\d+))?$/);
    if (!m) return [3, 0, 0, v] as const;
    const stage = m[2] === "alpha" ? 2 : m[2] === "beta" ? 1 : 0;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0), v] as const;
  };
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] as number) - (pb[i] as number);
  return pa[3] < pb[3] ? -1 : pa[3] > pb[3] ? 1 : 0;
}
