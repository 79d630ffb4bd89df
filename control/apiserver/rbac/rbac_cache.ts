/**
 * The RBAC objects in memory, indexed for decisions: roles by namespace and name, cluster roles by
 * name, and bindings by the subjects they name (`u:<user>` / `g:<group>`), so a decision looks at
 * the bindings of the caller's name and groups only, whatever the number of bindings.
 *
 * Fed by {@link WatchedResource} sinks ({@link RbacCache.sink}); pure otherwise.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { roleRefOf, subjectKey, subjectsOf } from "./rules.ts";
import type { PolicyRule, RoleRef } from "./types.ts";
import { rulesOf } from "./types.ts";
import type { CacheSink } from "./watched.ts";

/** A binding as decisions need it. */
export interface IndexedBinding {
  /** `namespace/name` or `name`. */
  key: string;
  namespace: string;
  name: string;
  roleRef: RoleRef;
  object: KubeObject;
}

/** Bindings filed under subject keys; the sets keep a binding once even if several subjects match. */
class BindingIndex {
  readonly #byKey = new Map<string, IndexedBinding>();
  readonly #bySubject = new Map<string, Map<string, IndexedBinding>>();
  readonly #keysOf = new Map<string, string[]>();

  set(obj: KubeObject): void {
    const namespace = obj.metadata.namespace ?? "";
    const name = obj.metadata.name ?? "";
    const key = namespace ? `${namespace}/${name}` : name;
    this.delete(obj);
    const b: IndexedBinding = { key, namespace, name, roleRef: roleRefOf(obj), object: obj };
    const keys: string[] = [];
    for (const s of subjectsOf(obj)) {
      const k = subjectKey(s, namespace);
      if (k === null) continue;
      const scoped = `${namespace}|${k}`;
      if (keys.includes(scoped)) continue;
      keys.push(scoped);
      let m = this.#bySubject.get(scoped);
      if (!m) this.#bySubject.set(scoped, m = new Map());
      m.set(key, b);
    }
    this.#byKey.set(key, b);
    this.#keysOf.set(key, keys);
  }

  delete(obj: KubeObject): void {
    const namespace = obj.metadata.namespace ?? "";
    const key = namespace ? `${namespace}/${obj.metadata.name}` : obj.metadata.name ?? "";
    for (const k of this.#keysOf.get(key) ?? []) {
      const m = this.#bySubject.get(k);
      m?.delete(key);
      if (m && m.size === 0) this.#bySubject.delete(k);
    }
    this.#keysOf.delete(key);
    this.#byKey.delete(key);
  }

  clear(): void {
    this.#byKey.clear();
    this.#bySubject.clear();
    this.#keysOf.clear();
  }

  /** Bindings in `namespace` (`""` for cluster bindings) naming any of `keys`, each once. */
  matching(namespace: string, keys: readonly string[]): IndexedBinding[] {
    const out: IndexedBinding[] = [];
    let seen: Set<string> | null = null;
    for (const k of keys) {
      const m = this.#bySubject.get(`${namespace}|${k}`);
      if (!m) continue;
      for (const b of m.values()) {
        if (out.length) {
          seen ??= new Set(out.map((x) => x.key));
          if (seen.has(b.key)) continue;
          seen.add(b.key);
        }
        out.push(b);
      }
    }
    return out;
  }

  get size(): number {
    return this.#byKey.size;
  }

  all(): IndexedBinding[] {
    return [...this.#byKey.values()];
  }
}

/** Roles or cluster roles by `namespace/name`, with their rules parsed once. */
class RoleIndex {
  readonly #byKey = new Map<string, { object: KubeObject; rules: PolicyRule[] }>();

  #key(namespace: string, name: string) {
    return namespace ? `${namespace}/${name}` : name;
  }

  set(obj: KubeObject): void {
    this.#byKey.set(this.#key(obj.metadata.namespace ?? "", obj.metadata.name ?? ""), {
      object: obj,
      rules: rulesOf(obj),
    });
  }

  delete(obj: KubeObject): void {
    this.#byKey.delete(this.#key(obj.metadata.namespace ?? "", obj.metadata.name ?? ""));
  }

  clear(): void {
    this.#byKey.clear();
  }

  get(namespace: string, name: string): { object: KubeObject; rules: PolicyRule[] } | undefined {
    return this.#byKey.get(this.#key(namespace, name));
  }

  get size(): number {
    return this.#byKey.size;
  }
}

function sinkFor(
  index: { set(o: KubeObject): void; delete(o: KubeObject): void; clear(): void },
  changed: () => void,
): CacheSink {
  return {
    reset(objects) {
      changed();
      index.clear();
      for (const o of objects) index.set(o);
    },
    set: (o) => {
      changed();
      index.set(o);
    },
    delete: (o) => {
      changed();
      index.delete(o);
    },
  };
}

/** The four RBAC kinds, indexed. */
export class RbacCache {
  readonly roles = new RoleIndex();
  readonly clusterRoles = new RoleIndex();
  readonly roleBindings = new BindingIndex();
  readonly clusterRoleBindings = new BindingIndex();
  #generation = 0;

  /** Bumped by every change through the sinks: decisions memoized at an older generation are stale. */
  get generation(): number {
    return this.#generation;
  }

  /** Sinks for the four watches, by resource plural. */
  sink(plural: "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings"): CacheSink {
    const changed = () => void this.#generation++;
    switch (plural) {
      case "roles":
        return sinkFor(this.roles, changed);
      case "clusterroles":
        return sinkFor(this.clusterRoles, changed);
      case "rolebindings":
        return sinkFor(this.roleBindings, changed);
      case "clusterrolebindings":
        return sinkFor(this.clusterRoleBindings, changed);
    }
  }

  /**
   * `GetRoleReferenceRules`: the rules a binding's roleRef grants, or upstream's lister NotFound
   * message (`clusterrole.rbac.authorization.k8s.io "x" not found`).
   */
  roleRefRules(ref: RoleRef, bindingNamespace: string): { rules: PolicyRule[]; error?: string } {
    if (ref.kind === "ClusterRole") {
      const r = this.clusterRoles.get("", ref.name);
      return r
        ? { rules: r.rules }
        : { rules: [], error: `clusterrole.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found` };
    }
    if (ref.kind === "Role") {
      const r = this.roles.get(bindingNamespace, ref.name);
      return r
        ? { rules: r.rules }
        : { rules: [], error: `role.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found` };
    }
    return { rules: [], error: `unsupported role reference kind: ${JSON.stringify(ref.kind)}` };
  }
}
