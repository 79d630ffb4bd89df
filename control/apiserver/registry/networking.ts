/**
 * networking.k8s.io/v1 `ingresses` (+status), `ingressclasses` and `networkpolicies`: upstream's
 * defaults (`pkg/apis/networking/v1/defaults.go`), validation (`pkg/apis/networking/validation`)
 * and kubectl tables (`printIngress`, `printIngressClass`, `printNetworkPolicy`).
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { immutableField, validateLabelSelector, validateObjectMeta } from "./metadata.ts";
import {
  isDNS1035Label,
  isDNS1123Subdomain,
  isIPv4,
  isIPv6,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
  regexError,
} from "./names.ts";
import { age, ageColumn, column, formatLabelSelector, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];
const NP_PROTOCOLS = ["TCP", "UDP", "SCTP"];
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

const WILDCARD_FMT = "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const WILDCARD_MSG =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

/** `IsWildcardDNS1123Subdomain`. */
export function isWildcardDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!new RegExp(`^${WILDCARD_FMT}$`).test(value)) {
    errs.push(regexError(WILDCARD_MSG, WILDCARD_FMT, "*.example.com"));
  }
  return errs;
}

function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/** `IsValidCIDR` (IPv4 or IPv6 `address/bits`). */
export function cidrErrors(value: string): string[] {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const ok = !!m && ((isIPv4(m[1]) && Number(m[2]) <= 32) || (isIPv6(m[1]) && Number(m[2]) <= 128));
  return ok ? [] : ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"];
}

function ipv4Range(cidr: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const n = ((+m[1] << 24) >>> 0) + (+m[2] << 16) + (+m[3] << 8) + +m[4];
  const bits = +m[5];
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [(n & mask) >>> 0, bits];
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy

/** `SetDefaults_NetworkPolicy` and `SetDefaults_NetworkPolicyPort`. */
export function defaultNetworkPolicy(obj: KubeObject): void {
  const spec: Obj = obj.spec ??= {};
  spec.podSelector ??= {};
  for (const rules of [spec.ingress, spec.egress]) {
    for (const rule of arr(rules)) {
      for (const p of arr(rule?.ports)) if (p && typeof p === "object") p.protocol ??= "TCP";
    }
  }
  if (arr(spec.policyTypes).length === 0) {
    spec.policyTypes = arr(spec.egress).length ? ["Ingress", "Egress"] : ["Ingress"];
  }
}

function validatePolicyPort(p: Obj, at: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (p?.protocol !== undefined && !NP_PROTOCOLS.includes(p.protocol)) {
    errs.push(fieldError.notSupported(`${at}.protocol`, p.protocol, NP_PROTOCOLS));
  }
  const port = p?.port;
  if (port !== undefined && port !== null) {
    if (typeof port === "number") {
      for (const msg of isValidPortNum(port)) errs.push(fieldError.invalid(`${at}.port`, port, msg));
      if (p.endPort !== undefined) {
        if (p.endPort < port) {
          errs.push(fieldError.invalid(`${at}.endPort`, p.endPort, "must be greater than or equal to `port`"));
        }
        for (const msg of isValidPortNum(p.endPort)) errs.push(fieldError.invalid(`${at}.endPort`, p.endPort, msg));
      }
    } else {
      if (p.endPort !== undefined) {
        errs.push(
          fieldError.invalid(`${at}.endPort`, p.endPort, "may not be specified when `port` is non-numeric"),
        );
      }
      for (const msg of isValidPortName(String(port))) errs.push(fieldError.invalid(`${at}.port`, port, msg));
    }
  } else if (p?.endPort !== undefined) {
    errs.push(fieldError.invalid(`${at}.endPort`, p.endPort, "may not be specified when `port` is not specified"));
  }
  return errs;
}

function validateIPBlock(b: Obj, at: string): StatusCause[] {
  if (!b.cidr) return [fieldError.required(`${at}.cidr`)];
  const errs = cidrErrors(b.cidr).map((msg) => fieldError.invalid(`${at}.cidr`, b.cidr, msg));
  if (errs.length) return errs;
  const outer = ipv4Range(b.cidr);
  arr(b.except).forEach((e: string, i) => {
    const p = `${at}.except[${i}]`;
    const bad = cidrErrors(String(e));
    if (bad.length) {
      errs.push(...bad.map((msg) => fieldError.invalid(p, e, msg)));
      return;
    }
    const inner = ipv4Range(String(e));
    if (outer && inner) {
      const size = 2 ** (32 - outer[1]);
      if (!(inner[0] >= outer[0] && inner[0] < outer[0] + size) || outer[1] >= inner[1]) {
        errs.push(fieldError.invalid(p, e, "must be a strict subset of `cidr`"));
      }
    }
  });
  return errs;
}

function validatePeer(peer: Obj, at: string): StatusCause[] {
  const errs: StatusCause[] = [];
  let n = 0;
  if (peer?.podSelector) {
    n++;
    errs.push(...validateLabelSelector(peer.podSelector, `${at}.podSelector`));
  }
  if (peer?.namespaceSelector) {
    n++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, `${at}.namespaceSelector`));
  }
  if (peer?.ipBlock) {
    n++;
    errs.push(...validateIPBlock(peer.ipBlock, `${at}.ipBlock`));
  }
  if (n === 0) errs.push(fieldError.required(at, "must specify a peer"));
  else if (n > 1 && peer.ipBlock) errs.push(fieldError.forbidden(at, "may not specify both ipBlock and another peer"));
  return errs;
}

/** `ValidateNetworkPolicy` (and its update, which adds nothing beyond metadata for the spec). */
export function validateNetworkPolicy(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  errs.push(...validateLabelSelector(spec.podSelector, "spec.podSelector"));
  arr(spec.ingress).forEach((rule: Obj, i) => {
    arr(rule?.ports).forEach((p, j) => errs.push(...validatePolicyPort(p, `spec.ingress[${i}].ports[${j}]`)));
    arr(rule?.from).forEach((p, j) => errs.push(...validatePeer(p, `spec.ingress[${i}].from[${j}]`)));
  });
  arr(spec.egress).forEach((rule: Obj, i) => {
    arr(rule?.ports).forEach((p, j) => errs.push(...validatePolicyPort(p, `spec.egress[${i}].ports[${j}]`)));
    arr(rule?.to).forEach((p, j) => errs.push(...validatePeer(p, `spec.egress[${i}].to[${j}]`)));
  });
  const types = arr(spec.policyTypes);
  if (types.length > 2) {
    errs.push(fieldError.invalid("spec.policyTypes", types, "may not specify more than two policyTypes"));
  } else {
    types.forEach((t, i) => {
      if (t !== "Ingress" && t !== "Egress") {
        errs.push(fieldError.notSupported(`spec.policyTypes[${i}]`, t, ["Ingress", "Egress"]));
      }
    });
  }
  return errs;
}

/** NetworkPolicies. */
export const networkPolicies: ResourceDef = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "NetworkPolicy",
  listKind: "NetworkPolicyList",
  plural: "networkpolicies",
  singular: "networkpolicy",
  namespaced: true,
  shortNames: ["netpol"],
  schema: "V1NetworkPolicy",
  generation: true,
  defaults: defaultNetworkPolicy,
  validate: validateNetworkPolicy,
  table: {
    columns: [
      nameColumn,
      column("Pod-Selector", "Select the pods to which this network policy object applies."),
      ageColumn,
    ],
    cells: (obj, now) => [obj.metadata?.name ?? "", formatLabelSelector(obj.spec?.podSelector), age(obj, now)],
  },
};

// ---------------------------------------------------------------------------------------------
// IngressClass

/** `SetDefaults_IngressClass`: a parameters reference without scope is cluster-scoped. */
export function defaultIngressClass(obj: KubeObject): void {
  const params = obj.spec?.parameters;
  if (params && typeof params === "object" && params.scope === undefined) params.scope = "Cluster";
}

const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";

/** `IsDomainPrefixedPath`. */
function domainPrefixedPath(value: string, at: string): StatusCause[] {
  if (!value) return [fieldError.required(at)];
  const i = value.indexOf("/");
  if (i <= 0 || i === value.length - 1) {
    return [fieldError.invalid(at, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  }
  const host = value.slice(0, i);
  const path = value.slice(i + 1);
  const errs = isDNS1123Subdomain(host).map((msg) => fieldError.invalid(at, host, msg));
  if (!new RegExp(`^${HTTP_PATH_FMT}$`).test(path)) {
    errs.push(fieldError.invalid(at, path, regexError("Invalid path", HTTP_PATH_FMT)));
  }
  return errs;
}

/** `IsPathSegmentName`. */
function pathSegmentErrors(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const c of ["/", "%"]) if (name.includes(c)) errs.push(`may not contain '${c}'`);
  return errs;
}

function validateParametersRef(p: Obj | undefined, at: string, scoped: boolean): StatusCause[] {
  if (!p) return [];
  const errs: StatusCause[] = [];
  if (p.apiGroup !== undefined && p.apiGroup !== null) {
    for (const msg of isDNS1123Subdomain(p.apiGroup)) errs.push(fieldError.invalid(`${at}.apiGroup`, p.apiGroup, msg));
  }
  for (const key of ["kind", "name"] as const) {
    if (!p[key]) errs.push(fieldError.required(`${at}.${key}`));
    else for (const msg of pathSegmentErrors(p[key])) errs.push(fieldError.invalid(`${at}.${key}`, p[key], msg));
  }
  if (!scoped) return errs;
  if (p.scope === undefined) return [...errs, fieldError.required(`${at}.scope`)];
  if (p.scope !== "Cluster" && p.scope !== "Namespace") {
    errs.push(fieldError.notSupported(`${at}.scope`, p.scope, ["Cluster", "Namespace"]));
  } else if (p.scope === "Namespace") {
    if (!p.namespace) errs.push(fieldError.required(`${at}.namespace`, "`parameters.scope` is set to 'Namespace'"));
  } else if (p.namespace) {
    errs.push(fieldError.forbidden(`${at}.namespace`, "`parameters.scope` is set to 'Cluster'"));
  }
  return errs;
}

/** `ValidateIngressClass` and `ValidateIngressClassUpdate` (the controller is immutable). */
export function validateIngressClass(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const controller = String(obj.spec?.controller ?? "");
  if (!controller) errs.push(fieldError.required("spec.controller"));
  else {
    if (controller.length > 250) errs.push(fieldError.tooLong("spec.controller", 250));
    errs.push(...domainPrefixedPath(controller, "spec.controller"));
  }
  errs.push(...validateParametersRef(obj.spec?.parameters, "spec.parameters", true));
  if (old) errs.push(...immutableField(obj.spec?.controller, old.spec?.controller, "spec.controller"));
  return errs;
}

/** IngressClasses. */
export const ingressClasses: ResourceDef = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "IngressClass",
  listKind: "IngressClassList",
  plural: "ingressclasses",
  singular: "ingressclass",
  namespaced: false,
  schema: "V1IngressClass",
  generation: true,
  defaults: defaultIngressClass,
  validate: validateIngressClass,
  table: {
    columns: [
      nameColumn,
      column("Controller", "Controller that is responsible for handling this class"),
      column("Parameters", "A reference to a resource with additional parameters"),
      ageColumn,
    ],
    cells(obj, now) {
      const p = obj.spec?.parameters;
      let params = "<none>";
      if (p) params = `${p.kind ?? ""}${p.apiGroup ? `.${p.apiGroup}` : ""}/${p.name ?? ""}`;
      return [obj.metadata?.name ?? "", obj.spec?.controller ?? "", params, age(obj, now)];
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Ingress

function validateBackend(b: Obj | undefined, at: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const hasResource = !!b?.resource;
  const hasService = !!b?.service;
  if (hasResource && hasService) return [fieldError.invalid(at, "", "cannot set both resource and service backends")];
  if (hasResource) return validateParametersRef(b!.resource, `${at}.resource`, false);
  if (!hasService) return [fieldError.invalid(at, "", "resource or service backend is required")];
  const svc: Obj = b!.service;
  if (!svc.name) errs.push(fieldError.required(`${at}.service.name`));
  else for (const msg of isDNS1035Label(svc.name)) errs.push(fieldError.invalid(`${at}.service.name`, svc.name, msg));
  const name = svc.port?.name ?? "";
  const num = svc.port?.number ?? 0;
  if (name && num) errs.push(fieldError.invalid(at, "", "cannot set both port name & port number"));
  else if (name) {
    for (const msg of isValidPortName(name)) errs.push(fieldError.invalid(`${at}.service.port.name`, name, msg));
  } else if (num) {
    for (const msg of isValidPortNum(num)) errs.push(fieldError.invalid(`${at}.service.port.number`, num, msg));
  } else errs.push(fieldError.required(at, "port name or number is required"));
  return errs;
}

function validatePath(p: Obj, at: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (p?.pathType === undefined || p.pathType === null) {
    return [fieldError.required(`${at}.pathType`, "pathType must be specified")];
  }
  const path = String(p.path ?? "");
  switch (p.pathType) {
    case "Exact":
    case "Prefix":
      if (!path.startsWith("/")) errs.push(fieldError.invalid(`${at}.path`, path, "must be an absolute path"));
      if (path) {
        for (const s of INVALID_PATH_SEQUENCES) {
          if (path.includes(s)) errs.push(fieldError.invalid(`${at}.path`, path, `must not contain '${s}'`));
        }
        for (const s of INVALID_PATH_SUFFIXES) {
          if (path.endsWith(s)) errs.push(fieldError.invalid(`${at}.path`, path, `cannot end with '${s}'`));
        }
      }
      break;
    case "ImplementationSpecific":
      if (path && !path.startsWith("/")) errs.push(fieldError.invalid(`${at}.path`, path, "must be an absolute path"));
      break;
    default:
      errs.push(fieldError.notSupported(`${at}.pathType`, p.pathType, PATH_TYPES));
  }
  errs.push(...validateBackend(p.backend, `${at}.backend`));
  return errs;
}

/** `ValidateIngressCreate` / `ValidateIngressUpdate`. */
export function validateIngress(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  const rules = arr(spec.rules);
  if (rules.length === 0 && !spec.defaultBackend) {
    errs.push(fieldError.invalid("spec", rules, "either `defaultBackend` or `rules` must be specified"));
  }
  if (spec.defaultBackend) errs.push(...validateBackend(spec.defaultBackend, "spec.defaultBackend"));
  rules.forEach((r: Obj, i) => {
    const at = `spec.rules[${i}]`;
    const host = String(r?.host ?? "");
    if (host) {
      if (isIP(host)) errs.push(fieldError.invalid(`${at}.host`, host, "must be a DNS name, not an IP address"));
      const msgs = host.includes("*") ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const msg of msgs) errs.push(fieldError.invalid(`${at}.host`, host, msg));
    }
    if (r?.http) {
      const paths = arr(r.http.paths);
      if (paths.length === 0) errs.push(fieldError.required(`${at}.http.paths`));
      paths.forEach((p, j) => errs.push(...validatePath(p, `${at}.http.paths[${j}]`)));
    }
  });
  arr(spec.tls).forEach((t: Obj, i) => {
    arr(t?.hosts).forEach((h: string, j) => {
      const msgs = String(h).includes("*") ? isWildcardDNS1123Subdomain(String(h)) : isDNS1123Subdomain(String(h));
      for (const msg of msgs) errs.push(fieldError.invalid(`spec.tls[${i}].hosts[${j}]`, h, msg));
    });
    if (t?.secretName) {
      for (const msg of nameIsDNSSubdomain(t.secretName, false)) {
        errs.push(fieldError.invalid(`spec.tls[${i}].secretName`, t.secretName, msg));
      }
    }
  });
  if (spec.ingressClassName !== undefined && spec.ingressClassName !== null) {
    for (const msg of nameIsDNSSubdomain(String(spec.ingressClassName), false)) {
      errs.push(fieldError.invalid("spec.ingressClassName", spec.ingressClassName, msg));
    }
  }
  const annotation = obj.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
  if (!old && annotation !== undefined && spec.ingressClassName && annotation !== spec.ingressClassName) {
    errs.push(
      fieldError.invalid(
        `annotations.${INGRESS_CLASS_ANNOTATION}`,
        annotation,
        "must match `ingressClassName` when both are specified",
      ),
    );
  }
  arr(obj.status?.loadBalancer?.ingress).forEach((lb: Obj, i) => {
    const at = `status.loadBalancer.ingress[${i}]`;
    if (lb?.ip && !isIP(lb.ip)) errs.push(fieldError.invalid(`${at}.ip`, lb.ip, "must be a valid IP address"));
    if (lb?.hostname) {
      for (const msg of isDNS1123Subdomain(lb.hostname)) errs.push(fieldError.invalid(`${at}.hostname`, lb.hostname, msg));
      if (isIP(lb.hostname)) {
        errs.push(fieldError.invalid(`${at}.hostname`, lb.hostname, "must be a DNS name, not an IP address"));
      }
    }
  });
  return errs;
}

/** `formatHosts`: up to three hosts, then `+ N more...`; `*` when no rule names a host. */
function formatHosts(rules: unknown): string {
  const list: string[] = [];
  let more = false;
  const all = arr(rules);
  for (const r of all) {
    if (list.length === 3) more = true;
    if (!more && r?.host) list.push(r.host);
  }
  if (list.length === 0) return "*";
  return more ? `${list.join(",")} + ${all.length - 3} more...` : list.join(",");
}

/** `ingressLoadBalancerStatusStringer` (clipped to 16 characters outside `-o wide`). */
function lbAddresses(status: Obj | undefined): string {
  const set = new Set<string>();
  for (const i of arr(status?.loadBalancer?.ingress)) {
    if (i?.ip) set.add(i.ip);
    else if (i?.hostname) set.add(i.hostname);
  }
  const r = [...set].sort().join(",");
  return r.length > 16 ? `${r.slice(0, 13)}...` : r;
}

/** Ingresses. */
export const ingresses: ResourceDef = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "Ingress",
  listKind: "IngressList",
  plural: "ingresses",
  singular: "ingress",
  namespaced: true,
  shortNames: ["ing"],
  subresources: { status: true },
  schema: "V1Ingress",
  generation: true,
  validate: validateIngress,
  table: {
    columns: [
      nameColumn,
      column("Class", "The name of the IngressClass resource that should be used for additional configuration"),
      column("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
      column("Address", "Address is a list containing ingress points for the load-balancer"),
      column("Ports", "Ports of TLS configurations that open"),
      ageColumn,
    ],
    cells: (obj, now) => [
      obj.metadata?.name ?? "",
      obj.spec?.ingressClassName ?? "<none>",
      formatHosts(obj.spec?.rules),
      lbAddresses(obj.status),
      arr(obj.spec?.tls).length ? "80, 443" : "80",
      age(obj, now),
    ],
  },
};

/** Every networking.k8s.io/v1 kind Skiff serves. */
export const networkingResources: ResourceDef[] = [ingresses, ingressClasses, networkPolicies];
