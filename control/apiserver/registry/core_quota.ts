/**
 * core/v1 `resourcequotas` and `limitranges`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { validateObjectMeta } from "./metadata.ts";
import { isQualifiedName, nameIsDNSSubdomain } from "./names.ts";
import {
  compareQuantities,
  defaultResourceList,
  formatQuantity,
  parseQuantity,
  QUANTITY_FORMAT_ERROR,
  quantitySign,
} from "./quantity.ts";
import { age, ageColumn, column, defaultTable, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

function validateResourceList(list: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const [name, value] of Object.entries((list ?? {}) as Obj)) {
    const at = `${path}[${name}]`;
    for (const msg of isQualifiedName(name)) errs.push(fieldError.invalid(at, name, msg));
    const q = parseQuantity(value);
    if (!q) errs.push(fieldError.invalid(at, value, QUANTITY_FORMAT_ERROR));
    else if (quantitySign(q) < 0) {
      errs.push(fieldError.invalid(at, String(value), "must be greater than or equal to 0"));
    }
  }
  return errs;
}

const QUOTA_SCOPES = [
  "BestEffort",
  "CrossNamespacePodAffinity",
  "NotBestEffort",
  "NotTerminating",
  "PriorityClass",
  "Terminating",
  "VolumeAttributesClass",
];

function validateResourceQuota(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  errs.push(...validateResourceList(obj.spec?.hard, "spec.hard"));
  arr(obj.spec?.scopes).forEach((s) => {
    if (!QUOTA_SCOPES.includes(s)) errs.push(fieldError.invalid("spec.scopes", s, "unsupported scope"));
  });
  return errs;
}

function quotaCells(obj: KubeObject): [string, string] {
  const hard: Obj = obj.status?.hard ?? {};
  const used: Obj = obj.status?.used ?? {};
  const requests: string[] = [];
  const limits: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const q = (v: unknown) => {
      const p = parseQuantity(v);
      return p ? formatQuantity(p) : "0";
    };
    const entry = `${name}: ${q(used[name])}/${q(hard[name])}`;
    const parts = name.split(".");
    (parts.length > 1 && parts[0] === "limits" ? limits : requests).push(entry);
  }
  return [requests.join(", "), limits.join(", ")];
}

/** ResourceQuotas. */
export const resourceQuotas: ResourceDef = {
  group: "",
  version: "v1",
  kind: "ResourceQuota",
  listKind: "ResourceQuotaList",
  plural: "resourcequotas",
  singular: "resourcequota",
  namespaced: true,
  shortNames: ["quota"],
  subresources: { status: true },
  schema: "V1ResourceQuota",
  defaults(obj) {
    defaultResourceList(obj.spec?.hard);
    defaultResourceList(obj.status?.hard);
    defaultResourceList(obj.status?.used);
  },
  validate: validateResourceQuota,
  table: {
    columns: [
      nameColumn,
      column("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
      column(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
      ),
      ageColumn,
    ],
    cells(obj, now) {
      const [request, limit] = quotaCells(obj);
      return [obj.metadata?.name ?? "", request, limit, age(obj, now)];
    },
  },
};

/** `SetDefaults_LimitRangeItem`: container defaults come from max, default requests from default or min. */
function defaultLimitRangeItem(item: Obj): void {
  for (const k of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]) {
    defaultResourceList(item[k]);
  }
  if (item.type !== "Container") return;
  item.default ??= {};
  item.defaultRequest ??= {};
  for (const [k, v] of Object.entries((item.max ?? {}) as Obj)) if (!(k in item.default)) item.default[k] = v;
  for (const [k, v] of Object.entries(item.default as Obj)) {
    if (!(k in item.defaultRequest)) item.defaultRequest[k] = v;
  }
  for (const [k, v] of Object.entries((item.min ?? {}) as Obj)) {
    if (!(k in item.defaultRequest)) item.defaultRequest[k] = v;
  }
  if (Object.keys(item.default).length === 0) delete item.default;
  if (Object.keys(item.defaultRequest).length === 0) delete item.defaultRequest;
}

function validateLimitRange(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  arr(obj.spec?.limits).forEach((item: Obj, i) => {
    const at = `spec.limits[${i}]`;
    if (!item?.type) errs.push(fieldError.required(`${at}.type`));
    for (const k of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]) {
      errs.push(...validateResourceList(item?.[k], `${at}.${k}`));
    }
    for (const [name, minV] of Object.entries((item?.min ?? {}) as Obj)) {
      const min = parseQuantity(minV);
      const max = parseQuantity(item?.max?.[name]);
      if (min && max && compareQuantities(min, max) > 0) {
        errs.push(
          fieldError.invalid(
            `${at}.min[${name}]`,
            formatQuantity(min),
            `min value ${formatQuantity(min)} is greater than max value ${formatQuantity(max)}`,
          ),
        );
      }
    }
  });
  return errs;
}

/** LimitRanges (upstream has no printer for them: the default Name / Created At table). */
export const limitRanges: ResourceDef = {
  group: "",
  version: "v1",
  kind: "LimitRange",
  listKind: "LimitRangeList",
  plural: "limitranges",
  singular: "limitrange",
  namespaced: true,
  shortNames: ["limits"],
  schema: "V1LimitRange",
  defaults(obj) {
    for (const item of arr(obj.spec?.limits)) {
      if (item && typeof item === "object") defaultLimitRangeItem(item);
    }
  },
  validate: validateLimitRange,
  table: defaultTable,
};
