/**
 * core/v1 `services`: `SetDefaults_Service` plus the single-stack IP family defaults the service
 * REST layer applies (cluster IP and node port allocation are the server's job), upstream's
 * `ValidateService`/`ValidateServiceUpdate`, and `printService`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { duplicateRepr, goQuote, goStringSlice, invalidRepr } from "./causes.ts";
import { dns1123Label, PROTOCOLS } from "./container_validation.ts";
import { validateLabels, validateObjectMeta } from "./metadata.ts";
import {
  isDNS1123Subdomain,
  isValidIP,
  isValidPortName,
  isValidPortNum,
  nameIsDNS1035Label,
} from "./names.ts";
import { age, ageColumn, column, formatLabels, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

function externallyAccessible(spec: Obj): boolean {
  return spec.type === "LoadBalancer" || spec.type === "NodePort" ||
    (spec.type === "ClusterIP" && arr(spec.externalIPs).length > 0);
}

/** `SetDefaults_Service` plus single-stack IPv4 family defaults and an empty load-balancer status. */
export function defaultService(obj: KubeObject): void {
  const spec: Obj = obj.spec ??= {};
  spec.sessionAffinity ||= "None";
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP" && !spec.sessionAffinityConfig?.clientIP?.timeoutSeconds) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  spec.type ||= "ClusterIP";
  for (const p of arr(spec.ports)) {
    if (!p || typeof p !== "object") continue;
    p.protocol ||= "TCP";
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = "Cluster";
  if (!spec.internalTrafficPolicy && ["NodePort", "LoadBalancer", "ClusterIP"].includes(spec.type)) {
    spec.internalTrafficPolicy = "Cluster";
  }
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type !== "ExternalName") {
    spec.ipFamilyPolicy ??= "SingleStack";
    if (arr(spec.ipFamilies).length === 0) spec.ipFamilies = ["IPv4"];
  }
  obj.status ??= {};
  obj.status.loadBalancer ??= {};
}

/** Go's `%#v` of the `core.ServicePort{Protocol, Port}` key upstream reports duplicates with. */
function portKey(protocol: string, port: number): string {
  return `core.ServicePort{Name:"", Protocol:${goQuote(protocol ?? "")}, AppProtocol:(*string)(nil), Port:${
    port ?? 0
  }, ` +
    `TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function validatePorts(spec: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const ports = arr(spec.ports);
  const names = new Set<string>();
  ports.forEach((p: Obj, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !p?.name) errs.push(fieldError.required(`${at}.name`));
    else if (p?.name) {
      errs.push(...dns1123Label(p.name, `${at}.name`));
      if (names.has(p.name)) errs.push(fieldError.duplicate(`${at}.name`, p.name));
      else names.add(p.name);
    }
    for (const msg of isValidPortNum(p?.port)) errs.push(fieldError.invalid(`${at}.port`, p?.port ?? 0, msg));
    if (!p?.protocol) errs.push(fieldError.required(`${at}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) {
      errs.push(fieldError.notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    }
    const tp = p?.targetPort;
    if (typeof tp === "number") {
      for (const msg of isValidPortNum(tp)) errs.push(fieldError.invalid(`${at}.targetPort`, tp, msg));
    } else if (typeof tp === "string") {
      for (const msg of isValidPortName(tp)) errs.push(fieldError.invalid(`${at}.targetPort`, tp, msg));
    }
    if (spec.type === "ClusterIP" && p?.nodePort) {
      errs.push(fieldError.forbidden(`${at}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
    }
    if (p?.nodePort !== undefined && p.nodePort !== 0) {
      for (const msg of isValidPortNum(p.nodePort)) {
        errs.push(fieldError.invalid(`${at}.nodePort`, p.nodePort, msg));
      }
    }
  });
  const seen = new Set<string>();
  ports.forEach((p: Obj, i) => {
    const key = `${p?.protocol}/${p?.port}`;
    if (seen.has(key)) errs.push(duplicateRepr(`spec.ports[${i}]`, portKey(p?.protocol, p?.port)));
    seen.add(key);
  });
  return errs;
}

function clusterIPs(spec: Obj): string[] {
  const ips = arr(spec.clusterIPs);
  return ips.length ? ips : spec.clusterIP ? [spec.clusterIP] : [];
}

/** `ValidateService` and, on update, `ValidateServiceUpdate`'s cluster IP rules. */
export function validateService(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNS1035Label });
  const spec: Obj = obj.spec ?? {};
  const headless = spec.clusterIP === "None";
  if (arr(spec.ports).length === 0 && !headless && spec.type !== "ExternalName") {
    errs.push(fieldError.required("spec.ports"));
  }
  if (!SERVICE_TYPES.includes(spec.type)) {
    errs.push(fieldError.notSupported("spec.type", spec.type ?? "", SERVICE_TYPES));
  }
  if (spec.type === "ExternalName") {
    if (arr(spec.clusterIPs).length > 0 || (spec.clusterIP && spec.clusterIP !== "")) {
      errs.push(fieldError.forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    }
    if (arr(spec.ipFamilies).length > 0) {
      errs.push(fieldError.forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
    }
    if (spec.ipFamilyPolicy) {
      errs.push(fieldError.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
    }
    const name = String(spec.externalName ?? "").replace(/\.$/, "");
    if (!name) errs.push(fieldError.required("spec.externalName"));
    else {for (const msg of isDNS1123Subdomain(name)) {
        errs.push(fieldError.invalid("spec.externalName", name, msg));
      }}
  }
  clusterIPs(spec).forEach((ip, i) => {
    if (ip === "None" && i === 0) return;
    for (const msg of isValidIP(ip)) errs.push(fieldError.invalid(`spec.clusterIPs[${i}]`, ip, msg));
  });
  errs.push(...validatePorts(spec));
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (!["ClientIP", "None"].includes(spec.sessionAffinity)) {
    errs.push(
      fieldError.notSupported("spec.sessionAffinity", spec.sessionAffinity ?? "", ["ClientIP", "None"]),
    );
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (
    spec.sessionAffinity === "ClientIP" && (typeof timeout !== "number" || timeout <= 0 || timeout > 86400)
  ) {
    errs.push(
      fieldError.invalid(
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        timeout ?? 0,
        "must be greater than 0 and less than 86400",
      ),
    );
  }
  arr(spec.externalIPs).forEach((ip, i) => {
    for (const msg of isValidIP(String(ip))) errs.push(fieldError.invalid(`spec.externalIPs[${i}]`, ip, msg));
  });
  if (spec.externalTrafficPolicy) {
    if (!externallyAccessible(spec)) {
      errs.push(
        fieldError.invalid(
          "spec.externalTrafficPolicy",
          spec.externalTrafficPolicy,
          "may only be set for externally-accessible services",
        ),
      );
    } else if (!["Cluster", "Local"].includes(spec.externalTrafficPolicy)) {
      errs.push(
        fieldError.notSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, [
          "Cluster",
          "Local",
        ]),
      );
    }
  }
  if (spec.internalTrafficPolicy && !["Cluster", "Local"].includes(spec.internalTrafficPolicy)) {
    errs.push(
      fieldError.notSupported("spec.internalTrafficPolicy", spec.internalTrafficPolicy, ["Cluster", "Local"]),
    );
  }
  if (
    spec.ipFamilyPolicy &&
    !["SingleStack", "PreferDualStack", "RequireDualStack"].includes(spec.ipFamilyPolicy)
  ) {
    errs.push(
      fieldError.notSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, [
        "SingleStack",
        "PreferDualStack",
        "RequireDualStack",
      ]),
    );
  }
  arr(spec.ipFamilies).forEach((f, i) => {
    if (f !== "IPv4" && f !== "IPv6") {
      errs.push(fieldError.notSupported(`spec.ipFamilies[${i}]`, f, ["IPv4", "IPv6"]));
    }
  });
  if (old) errs.push(...validateClusterIPUpdate(spec, old.spec ?? {}));
  return errs;
}

/** `validateUpgradeDowngradeClusterIPs`: the primary cluster IP may not change once set. */
function validateClusterIPUpdate(spec: Obj, oldSpec: Obj): StatusCause[] {
  if (spec.type === "ExternalName" || oldSpec.type === "ExternalName") return [];
  if (spec.clusterIP === "None" && oldSpec.clusterIP === "None") return [];
  const ips = clusterIPs(spec);
  const oldIPs = clusterIPs(oldSpec);
  const repr = goStringSlice(arr(spec.clusterIPs).length ? spec.clusterIPs : ips.length ? ips : undefined);
  if (oldIPs.length === ips.length) {
    return oldIPs.flatMap((ip, i) =>
      ip !== ips[i] ? [invalidRepr(`spec.clusterIPs[${i}]`, repr, "may not change once set")] : []
    );
  }
  if (oldIPs.length > ips.length && ips.length === 0) {
    return [invalidRepr("spec.clusterIPs[0]", repr, "primary clusterIP can not be unset")];
  }
  if (oldIPs.length > 0 && ips.length > 0 && oldIPs[0] !== ips[0]) {
    return [invalidRepr("spec.clusterIPs[0]", repr, "may not change once set")];
  }
  return [];
}

function externalIP(spec: Obj, status: Obj): string {
  const external = arr(spec.externalIPs);
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = [
        ...new Set(
          arr(status?.loadBalancer?.ingress).map((i: Obj) => i?.ip || i?.hostname || "").filter(Boolean),
        ),
      ].sort();
      if (external.length) return [...lb, ...external].join(",");
      return lb.length ? lb.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec.externalName ?? "";
  }
  return "<unknown>";
}

function portString(ports: unknown): string {
  return arr(ports).map((p: Obj) =>
    p?.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? ""}` : `${p?.port}/${p?.protocol ?? ""}`
  ).join(",");
}

/** Services. */
export const services: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Service",
  listKind: "ServiceList",
  plural: "services",
  singular: "service",
  namespaced: true,
  shortNames: ["svc"],
  categories: ["all"],
  subresources: { status: true, other: ["proxy"] },
  schema: "V1Service",
  defaults: defaultService,
  validate: validateService,
  table: {
    columns: [
      nameColumn,
      column("Type", "type determines how the Service is exposed."),
      column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
      column(
        "External-IP",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
      ),
      column("Port(s)", "The list of ports that are exposed by this service."),
      ageColumn,
      column("Selector", "Route service traffic to pods with label keys and values matching this selector.", {
        wide: true,
      }),
    ],
    cells(obj, now) {
      const spec: Obj = obj.spec ?? {};
      return [
        obj.metadata?.name ?? "",
        spec.type ?? "",
        clusterIPs(spec)[0] ?? "<none>",
        externalIP(spec, obj.status ?? {}),
        portString(spec.ports) || "<none>",
        age(obj, now),
        formatLabels(spec.selector),
      ];
    },
  },
  fields: (obj) => ({ "spec.clusterIP": obj.spec?.clusterIP ?? "", "spec.type": obj.spec?.type ?? "" }),
};
