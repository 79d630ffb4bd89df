/**
 * core/v1 `configmaps`, `secrets` and `serviceaccounts`: key names, the 1 MiB size limit,
 * `immutable: true`, secret types and `stringData`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";
import { immutableField, validateObjectMeta } from "./metadata.ts";
import { isConfigMapKey, nameIsDNSSubdomain } from "./names.ts";
import { utf8Length } from "./utf8_length.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

type Obj = Record<string, any>;

/** Upstream's `MaxConfigMapSize` and `MaxSecretSize`: 1 MiB. */
export const MAX_DATA_SIZE = 1024 * 1024;

const utf8 = new TextEncoder();

/** The decoded length of a base64 string, or undefined when it is not valid base64. */
export function base64Length(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  try {
    return atob(value).length;
  } catch {
    return undefined;
  }
}

function validateKeys(map: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const key of Object.keys((map ?? {}) as Obj)) {
    for (const msg of isConfigMapKey(key)) errs.push(fieldError.invalid(`${path}[${key}]`, key, msg));
  }
  return errs;
}

function validateImmutable(obj: KubeObject, old: KubeObject, fields: string[]): StatusCause[] {
  if (old.immutable !== true) return [];
  const errs: StatusCause[] = [];
  if (obj.immutable !== true) {
    errs.push(fieldError.forbidden("immutable", "field is immutable when `immutable` is set"));
  }
  for (const f of fields) {
    if (!deepEqual(obj[f] ?? {}, old[f] ?? {})) {
      errs.push(fieldError.forbidden(f, "field is immutable when `immutable` is set"));
    }
  }
  return errs;
}

/** `ValidateConfigMap` and `ValidateConfigMapUpdate`. */
export function validateConfigMap(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  let size = 0;
  errs.push(...validateKeys(obj.data, "data"));
  for (const v of Object.values((obj.data ?? {}) as Obj)) size += utf8Length(String(v));
  for (const [key, v] of Object.entries((obj.binaryData ?? {}) as Obj)) {
    for (const msg of isConfigMapKey(key)) errs.push(fieldError.invalid(`binaryData[${key}]`, key, msg));
    if (obj.data && Object.hasOwn(obj.data, key)) {
      errs.push(fieldError.invalid(`binaryData[${key}]`, key, "duplicate of key present in data"));
    }
    size += base64Length(v) ?? 0;
  }
  if (size > MAX_DATA_SIZE) errs.push(fieldError.tooLong("", MAX_DATA_SIZE));
  if (old) errs.push(...validateImmutable(obj, old, ["data", "binaryData"]));
  return errs;
}

/** ConfigMaps. */
export const configMaps: ResourceDef = {
  group: "",
  version: "v1",
  kind: "ConfigMap",
  listKind: "ConfigMapList",
  plural: "configmaps",
  singular: "configmap",
  namespaced: true,
  shortNames: ["cm"],
  schema: "V1ConfigMap",
  validate: validateConfigMap,
  table: {
    columns: [nameColumn, column("Data", "Data contains the configuration data."), ageColumn],
    cells: (obj, now) => [
      obj.metadata?.name ?? "",
      Object.keys(obj.data ?? {}).length + Object.keys(obj.binaryData ?? {}).length,
      age(obj, now),
    ],
  },
};

function toBase64(s: string): string {
  let bin = "";
  for (const b of utf8.encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** `SetDefaults_Secret` (type Opaque) and the v1 conversion that folds `stringData` into `data`. */
export function defaultSecret(obj: KubeObject): void {
  obj.type ||= "Opaque";
  if (obj.stringData && typeof obj.stringData === "object") {
    obj.data = { ...(obj.data ?? {}) };
    for (const [k, v] of Object.entries(obj.stringData as Obj)) obj.data[k] = toBase64(String(v));
    delete obj.stringData;
  }
}

function validateSecretType(obj: KubeObject): StatusCause[] {
  const data: Obj = obj.data ?? {};
  const has = (k: string) => Object.hasOwn(data, k);
  const json = (k: string): StatusCause[] => {
    if (!has(k)) return [fieldError.required(`data[${k}]`)];
    try {
      JSON.parse(atob(data[k]));
      return [];
    } catch (e) {
      return [fieldError.invalid(`data[${k}]`, "<secret contents redacted>", (e as Error).message)];
    }
  };
  switch (obj.type) {
    case "kubernetes.io/service-account-token":
      return obj.metadata?.annotations?.["kubernetes.io/service-account.name"]
        ? []
        : [fieldError.required("metadata.annotations[kubernetes.io/service-account.name]")];
    case "kubernetes.io/dockercfg":
      return json(".dockercfg");
    case "kubernetes.io/dockerconfigjson":
      return json(".dockerconfigjson");
    case "kubernetes.io/basic-auth":
      return has("username") || has("password")
        ? []
        : [fieldError.required("data[username]"), fieldError.required("data[password]")];
    case "kubernetes.io/ssh-auth":
      return base64Length(data["ssh-privatekey"]) ? [] : [fieldError.required("data[ssh-privatekey]")];
    case "kubernetes.io/tls":
      return [
        ...(has("tls.crt") ? [] : [fieldError.required("data[tls.crt]")]),
        ...(has("tls.key") ? [] : [fieldError.required("data[tls.key]")]),
      ];
  }
  return [];
}

/** `ValidateSecret` and `ValidateSecretUpdate`. */
export function validateSecret(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  let size = 0;
  for (const [key, value] of Object.entries((obj.data ?? {}) as Obj)) {
    for (const msg of isConfigMapKey(key)) errs.push(fieldError.invalid(`data[${key}]`, key, msg));
    const n = base64Length(value);
    if (n === undefined) {
      errs.push(fieldError.invalid(`data[${key}]`, "<secret contents redacted>", "illegal base64 data"));
    }
    size += n ?? 0;
  }
  if (size > MAX_DATA_SIZE) errs.push(fieldError.tooLong("data", MAX_DATA_SIZE));
  errs.push(...validateSecretType(obj));
  if (old) {
    errs.push(...immutableField(obj.type, old.type, "type"));
    errs.push(...validateImmutable(obj, old, ["data"]));
  }
  return errs;
}

/** Secrets. */
export const secrets: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Secret",
  listKind: "SecretList",
  plural: "secrets",
  singular: "secret",
  namespaced: true,
  schema: "V1Secret",
  defaults: defaultSecret,
  validate: validateSecret,
  table: {
    columns: [
      nameColumn,
      column("Type", "Used to facilitate programmatic handling of secret data."),
      column("Data", "Data contains the secret data."),
      ageColumn,
    ],
    cells: (
      obj,
      now,
    ) => [obj.metadata?.name ?? "", obj.type ?? "", Object.keys(obj.data ?? {}).length, age(obj, now)],
  },
  fields: (obj) => ({ type: obj.type ?? "" }),
};

/** ServiceAccounts. */
export const serviceAccounts: ResourceDef = {
  group: "",
  version: "v1",
  kind: "ServiceAccount",
  listKind: "ServiceAccountList",
  plural: "serviceaccounts",
  singular: "serviceaccount",
  namespaced: true,
  shortNames: ["sa"],
  subresources: { other: ["token"] },
  schema: "V1ServiceAccount",
  validate: (obj) => validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),
  table: {
    columns: [
      nameColumn,
      column(
        "Secrets",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      ),
      ageColumn,
    ],
    cells: (
      obj,
      now,
    ) => [obj.metadata?.name ?? "", Array.isArray(obj.secrets) ? obj.secrets.length : 0, age(obj, now)],
  },
};
