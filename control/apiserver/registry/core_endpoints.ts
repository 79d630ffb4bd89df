/**
 * core/v1 `endpoints`: port protocol defaults, subset validation and `printEndpoints`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { dns1123Label, PROTOCOLS } from "./container_validation.ts";
import { validateObjectMeta } from "./metadata.ts";
import { isDNS1123Subdomain, isIPv6, isValidIP, isValidPortNum, nameIsDNSSubdomain } from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

function validateAddress(a: Obj, path: string): StatusCause[] {
  const errs = isValidIP(String(a?.ip ?? "")).map((msg) =>
    fieldError.invalid(`${path}.ip`, a?.ip ?? "", msg)
  );
  if (a?.hostname) errs.push(...dns1123Label(a.hostname, `${path}.hostname`));
  if (a?.nodeName) {
    for (const msg of isDNS1123Subdomain(a.nodeName)) {
      errs.push(fieldError.invalid(`${path}.nodeName`, a.nodeName, msg));
    }
  }
  return errs;
}

/** `ValidateEndpoints` (without upstream's rejection of loopback and link-local addresses). */
export function validateEndpoints(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  arr(obj.subsets).forEach((ss: Obj, i) => {
    const at = `subsets[${i}]`;
    if (arr(ss?.addresses).length === 0 && arr(ss?.notReadyAddresses).length === 0) {
      errs.push(fieldError.required(at, "must specify `addresses` or `notReadyAddresses`"));
    }
    arr(ss?.addresses).forEach((a, j) => errs.push(...validateAddress(a, `${at}.addresses[${j}]`)));
    arr(ss?.notReadyAddresses).forEach((a, j) =>
      errs.push(...validateAddress(a, `${at}.notReadyAddresses[${j}]`))
    );
    const ports = arr(ss?.ports);
    ports.forEach((p: Obj, j) => {
      const pp = `${at}.ports[${j}]`;
      if (ports.length > 1 && !p?.name) errs.push(fieldError.required(`${pp}.name`));
      else if (p?.name) errs.push(...dns1123Label(p.name, `${pp}.name`));
      for (const msg of isValidPortNum(p?.port)) {
        errs.push(fieldError.invalid(`${pp}.port`, p?.port ?? 0, msg));
      }
      if (!p?.protocol) errs.push(fieldError.required(`${pp}.protocol`));
      else if (!PROTOCOLS.includes(p.protocol)) {
        errs.push(fieldError.notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS));
      }
    });
  });
  return errs;
}

function hostPort(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Upstream's `formatEndpoints`: at most three `ip:port`, then `+ N more...`. */
export function formatEndpoints(subsets: unknown): string {
  const list = arr(subsets);
  if (list.length === 0) return "<none>";
  const out: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of list) {
    const addresses = arr(ss?.addresses);
    const ports = arr(ss?.ports);
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (out.length === max) {
          more = true;
          break;
        }
        out.push(a?.ip ?? "");
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (out.length === max) {
          more = true;
          break;
        }
        out.push(hostPort(a?.ip ?? "", p?.port ?? 0));
      }
    }
  }
  const s = out.join(",");
  return more ? `${s} + ${count - max} more...` : s;
}

/** Endpoints. */
export const endpoints: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Endpoints",
  listKind: "EndpointsList",
  plural: "endpoints",
  singular: "endpoints",
  namespaced: true,
  shortNames: ["ep"],
  schema: "V1Endpoints",
  defaults(obj) {
    for (const ss of arr(obj.subsets)) {
      for (const p of arr(ss?.ports)) if (p && typeof p === "object") p.protocol ||= "TCP";
    }
  },
  validate: validateEndpoints,
  table: {
    columns: [
      nameColumn,
      column("Endpoints", "The set of all endpoints is the union of all subsets."),
      ageColumn,
    ],
    cells: (obj, now) => [obj.metadata?.name ?? "", formatEndpoints(obj.subsets), age(obj, now)],
  },
};
