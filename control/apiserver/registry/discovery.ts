/**
 * discovery.k8s.io/v1 `endpointslices`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { tooMany } from "./causes.ts";
import { dns1123Label, PROTOCOLS } from "./container_validation.ts";
import { immutableField, validateLabels, validateObjectMeta } from "./metadata.ts";
import {
  isDNS1123Subdomain,
  isIPv4,
  isIPv6,
  isQualifiedName,
  isValidPortNum,
  nameIsDNSSubdomain,
} from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];

function validateAddress(type: string, address: string, path: string): StatusCause[] {
  if (type === "IPv4" && !isIPv4(address)) {
    return [fieldError.invalid(path, address, "must be a valid IPv4 address")];
  }
  if (type === "IPv6" && !isIPv6(address)) {
    return [fieldError.invalid(path, address, "must be a valid IPv6 address")];
  }
  if (type === "FQDN") {
    return isDNS1123Subdomain(address).map((msg) => fieldError.invalid(path, address, msg));
  }
  return [];
}

/** `ValidateEndpointSlice` and its update rule (immutable `addressType`). */
export function validateEndpointSlice(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const type = obj.addressType ?? "";
  if (!type) errs.push(fieldError.required("addressType"));
  else if (!ADDRESS_TYPES.includes(type)) {
    errs.push(fieldError.notSupported("addressType", type, ADDRESS_TYPES));
  }
  const endpoints = arr(obj.endpoints);
  if (endpoints.length > 1000) errs.push(tooMany("endpoints", endpoints.length, 1000));
  endpoints.forEach((ep: Obj, i) => {
    const at = `endpoints[${i}]`;
    const addresses = arr(ep?.addresses);
    if (addresses.length === 0) {
      errs.push(fieldError.required(`${at}.addresses`, "must contain at least 1 address"));
    } else if (addresses.length > 100) errs.push(tooMany(`${at}.addresses`, addresses.length, 100));
    addresses.forEach((a, j) => errs.push(...validateAddress(type, String(a), `${at}.addresses[${j}]`)));
    if (ep?.hostname) errs.push(...dns1123Label(ep.hostname, `${at}.hostname`));
    if (ep?.nodeName) {
      for (const msg of isDNS1123Subdomain(ep.nodeName)) {
        errs.push(fieldError.invalid(`${at}.nodeName`, ep.nodeName, msg));
      }
    }
    errs.push(...validateLabels(ep?.deprecatedTopology, `${at}.deprecatedTopology`));
  });
  const names = new Set<string>();
  arr(obj.ports).forEach((p: Obj, i) => {
    const at = `ports[${i}]`;
    if (p?.name) {
      errs.push(...dns1123Label(p.name, `${at}.name`));
    }
    if (names.has(p?.name ?? "")) errs.push(fieldError.duplicate(`${at}.name`, p?.name ?? ""));
    else names.add(p?.name ?? "");
    if (!p?.protocol) errs.push(fieldError.required(`${at}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) {
      errs.push(fieldError.notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    }
    if (p?.port != null) {
      for (const msg of isValidPortNum(p.port)) errs.push(fieldError.invalid(`${at}.port`, p.port, msg));
    }
    if (p?.appProtocol) {
      for (const msg of isQualifiedName(p.appProtocol)) {
        errs.push(fieldError.invalid(`${at}.appProtocol`, p.appProtocol, msg));
      }
    }
  });
  if (old) errs.push(...immutableField(obj.addressType, old.addressType, "addressType"));
  return errs;
}

/** `listWithMoreString`: up to three items, then `+ N more...`; `<unset>` when empty. */
function listWithMore(items: string[], max = 3): string {
  const s = items.slice(0, max).join(",");
  if (items.length > max) return `${s} + ${items.length - max} more...`;
  return s || "<unset>";
}

/** EndpointSlices. */
export const endpointSlices: ResourceDef = {
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  listKind: "EndpointSliceList",
  plural: "endpointslices",
  singular: "endpointslice",
  namespaced: true,
  schema: "V1EndpointSlice",
  defaults(obj) {
    for (const p of arr(obj.ports)) {
      if (!p || typeof p !== "object") continue;
      p.name ??= "";
      p.protocol ??= "TCP";
    }
  },
  validate: validateEndpointSlice,
  table: {
    columns: [
      nameColumn,
      column("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
      column("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
      column("Endpoints", "endpoints is a list of unique endpoints in this slice."),
      ageColumn,
    ],
    cells(obj, now) {
      const ports = arr(obj.ports).map((
        p: Obj,
      ) => (p?.port != null ? String(p.port) : p?.name != null ? p.name : "*"));
      const addrs = arr(obj.endpoints).flatMap((e: Obj) => arr(e?.addresses).map(String));
      return [
        obj.metadata?.name ?? "",
        obj.addressType ?? "",
        listWithMore(ports),
        listWithMore(addrs),
        age(obj, now),
      ];
    },
  },
};
