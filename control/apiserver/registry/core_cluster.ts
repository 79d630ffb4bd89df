/**
 * core/v1 cluster-scoped `namespaces` and `nodes`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { validateObjectMeta } from "./metadata.ts";
import { isQualifiedName, isValidLabelValue, nameIsDNSLabel, nameIsDNSSubdomain } from "./names.ts";
import { defaultResourceList } from "./quantity.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

/**
 * `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label), plus what the namespace
 * strategy does on create: the `kubernetes` finalizer and `status.phase: Active`.
 */
export function defaultNamespace(obj: KubeObject, ctx: { operation: "CREATE" | "UPDATE" }): void {
  const name = obj.metadata?.name;
  if (name) obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  if (ctx.operation === "CREATE") {
    obj.spec ??= {};
    const finalizers: string[] = arr(obj.spec.finalizers);
    obj.spec.finalizers = finalizers.includes("kubernetes") ? finalizers : [...finalizers, "kubernetes"];
    obj.status = { phase: "Active" };
  } else {
    obj.status ??= {};
    obj.status.phase ||= "Active";
  }
}

function validateNamespace(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSLabel });
  for (const f of arr(obj.spec?.finalizers)) {
    const name = String(f);
    const msgs = isQualifiedName(name);
    for (const msg of msgs) errs.push(fieldError.invalid("spec.finalizers", name, msg));
    if (msgs.length === 0 && !name.includes("/") && name !== "kubernetes") {
      errs.push(
        fieldError.invalid(
          "spec.finalizers",
          name,
          "name is neither a standard finalizer name nor is it fully qualified",
        ),
      );
    }
  }
  return errs;
}

/** Namespaces. */
export const namespaces: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Namespace",
  listKind: "NamespaceList",
  plural: "namespaces",
  singular: "namespace",
  namespaced: false,
  shortNames: ["ns"],
  subresources: { status: true, other: ["finalize"] },
  schema: "V1Namespace",
  defaults: defaultNamespace,
  validate: validateNamespace,
  table: {
    columns: [nameColumn, column("Status", "The status of the namespace"), ageColumn],
    cells: (obj, now) => [obj.metadata?.name ?? "", obj.status?.phase ?? "", age(obj, now)],
  },
  fields: (obj) => ({ "status.phase": obj.status?.phase ?? "" }),
};

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

function validateNode(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const seen = new Set<string>();
  arr(obj.spec?.taints).forEach((t: Obj, i) => {
    const at = `spec.taints[${i}]`;
    for (const msg of isQualifiedName(t?.key ?? "")) {
      errs.push(fieldError.invalid(`${at}.key`, t?.key ?? "", msg));
    }
    if (t?.value) {
      for (const msg of isValidLabelValue(t.value)) {
        errs.push(fieldError.invalid(`${at}.value`, t.value, msg));
      }
    }
    if (!t?.effect) errs.push(fieldError.required(`${at}.effect`));
    else if (!TAINT_EFFECTS.includes(t.effect)) {
      errs.push(fieldError.notSupported(`${at}.effect`, t.effect, TAINT_EFFECTS));
    }
    const key = `${t?.key}:${t?.effect}`;
    if (seen.has(key)) errs.push(fieldError.duplicate(`${at}`, `${t?.key}:${t?.effect}`));
    seen.add(key);
  });
  return errs;
}

function nodeStatus(node: KubeObject): string {
  const ready = arr(node.status?.conditions).find((c) => c?.type === "Ready");
  const status = ready ? [ready.status === "True" ? "Ready" : "NotReady"] : ["Unknown"];
  if (node.spec?.unschedulable) status.push("SchedulingDisabled");
  return status.join(",");
}

/** `findNodeRoles`: `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label. */
export function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries((node.metadata?.labels ?? {}) as Record<string, string>)) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return [...roles].sort().join(",") || "<none>";
}

function nodeAddress(node: KubeObject, type: string): string {
  return arr(node.status?.addresses).find((a) => a?.type === type)?.address ?? "<none>";
}

/** Nodes. */
export const nodes: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Node",
  listKind: "NodeList",
  plural: "nodes",
  singular: "node",
  namespaced: false,
  shortNames: ["no"],
  subresources: { status: true, other: ["proxy", "token"] },
  schema: "V1Node",
  defaults(obj) {
    const status = obj.status;
    if (!status || typeof status !== "object") return;
    defaultResourceList(status.capacity);
    defaultResourceList(status.allocatable);
    if (!status.allocatable && status.capacity) status.allocatable = { ...status.capacity };
  },
  validate: validateNode,
  table: {
    columns: [
      nameColumn,
      column("Status", "The status of the node"),
      column("Roles", "The roles of the node"),
      ageColumn,
      column("Version", "Kubelet Version reported by the node."),
      column("Internal-IP", "List of addresses reachable to the node.", { wide: true }),
      column("External-IP", "List of addresses reachable to the node.", { wide: true }),
      column(
        "OS-Image",
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        { wide: true },
      ),
      column(
        "Kernel-Version",
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        { wide: true },
      ),
      column(
        "Container-Runtime",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        { wide: true },
      ),
    ],
    cells(obj, now) {
      const info: Obj = obj.status?.nodeInfo ?? {};
      return [
        obj.metadata?.name ?? "",
        nodeStatus(obj),
        nodeRoles(obj),
        age(obj, now),
        info.kubeletVersion ?? "",
        nodeAddress(obj, "InternalIP"),
        nodeAddress(obj, "ExternalIP"),
        info.osImage || "<unknown>",
        info.kernelVersion || "<unknown>",
        info.containerRuntimeVersion || "<unknown>",
      ];
    },
  },
  fields: (obj) => ({ "spec.unschedulable": String(obj.spec?.unschedulable === true) }),
};
