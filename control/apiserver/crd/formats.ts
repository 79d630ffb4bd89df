/**
 * OpenAPI `format` handling for custom resources, as apiextensions-apiserver does it: formats the
 * server does not support are dropped before validation (`StripUnsupportedFormatsPostProcessor`),
 * and supported string formats are checked like kube-openapi's `strfmt` registry.
 * @module
 */
import type { JSONSchemaProps } from "./types.ts";

/** String formats a CRD schema may use (names normalized without `-`, as go-openapi does). */
const STRING_FORMATS = new Set([
  "bsonobjectid",
  "uri",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "cidr",
  "mac",
  "uuid",
  "uuid3",
  "uuid4",
  "uuid5",
  "isbn",
  "isbn10",
  "isbn13",
  "creditcard",
  "ssn",
  "hexcolor",
  "rgbcolor",
  "byte",
  "password",
  "date",
  "duration",
  "datetime",
  "k8sshortname",
  "k8slongname",
]);

/** The format validation actually applies to: unsupported formats become `""`. */
export function effectiveFormat(schema: JSONSchemaProps): string {
  const format = schema.format ?? "";
  if (!format) return "";
  const type = schema["x-kubernetes-int-or-string"] ? "" : schema.type ?? "";
  switch (type) {
    case "":
    case "string":
      return STRING_FORMATS.has(format.replaceAll("-", "")) ? format : "";
    case "integer":
      return format === "int32" || format === "int64" ? format : "";
    case "number":
      return format === "float" || format === "double" ? format : "";
    default:
      return "";
  }
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const TIME = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/;
const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$/u;
const MAC =
  /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{2}[:-]){7}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$/;
const DURATION_GO = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/;
const DURATION_WORDS = /^\s*(\d+\s*[A-Za-zµ]+\s*)+$/;
const DURATION_UNITS =
  /^(ns|nano\w*|us|µs|micro\w*|ms|milli\w*|s|sec\w*|m|min\w*|h|hr\w*|hour\w*|d|day\w*|w|wk\w*|week\w*)$/;

/** Go's `time.Parse("2006-01-02", s)`. */
export function isDate(s: string): boolean {
  const m = s.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** strfmt's `IsDateTime` (RFC 3339, case-insensitive `T`/`Z`). */
export function isDateTime(s: string): boolean {
  if (s.length < 4) return false;
  const parts = s.toLowerCase().split("t");
  if (parts.length < 2 || !isDate(parts[0])) return false;
  const m = parts[1].match(TIME);
  return !!m && m[1] <= "23" && m[2] <= "59" && m[3] <= "59";
}

function isIPv4(s: string): boolean {
  const quad = s.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (quad) return quad.slice(1).every((o) => Number(o) <= 255);
  return s.includes(".") && isIPv6(s);
}

function isIPv6(s: string): boolean {
  if (!s.includes(":") || /[[\]/%]/.test(s)) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

function isCIDR(s: string): boolean {
  const i = s.lastIndexOf("/");
  if (i < 0 || !/^\d+$/.test(s.slice(i + 1))) return false;
  const ip = s.slice(0, i);
  const bits = Number(s.slice(i + 1));
  if (isIPv6(ip) && !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return bits <= 128;
  return isIPv4(ip) && bits <= 32;
}

function isHostname(s: string): boolean {
  return HOSTNAME.test(s) && s.length <= 255 && s.split(".").every((p) => p.length <= 63);
}

function isDuration(s: string): boolean {
  if (DURATION_GO.test(s)) return true;
  if (!DURATION_WORDS.test(s)) return false;
  return [...s.matchAll(/(\d+)\s*([A-Za-zµ]+)/g)].every((m) => DURATION_UNITS.test(m[2]));
}

function isURI(s: string): boolean {
  if (s.startsWith("/")) return !/\s/.test(s);
  try {
    return new URL(s).protocol.length > 1;
  } catch {
    return false;
  }
}

const CHECKS: Record<string, (s: string) => boolean> = {
  datetime: isDateTime,
  date: isDate,
  byte: (s) => BASE64.test(s),
  password: () => true,
  uuid: (s) => UUID.test(s),
  uuid3: (s) => UUID3.test(s),
  uuid4: (s) => UUID4.test(s),
  uuid5: (s) => UUID5.test(s),
  ipv4: isIPv4,
  ipv6: isIPv6,
  cidr: isCIDR,
  hostname: isHostname,
  mac: (s) => MAC.test(s),
  email: (s) => /^[^\s@<>]+@[^\s@<>]+$/.test(s),
  uri: isURI,
  duration: isDuration,
  bsonobjectid: (s) => /^[0-9a-f]{24}$/i.test(s),
  hexcolor: (s) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(s),
  k8sshortname: (s) => s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s),
  k8slongname: (s) =>
    s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s),
};

/** Whether `value` satisfies string format `format`; formats without a check here pass. */
export function matchesFormat(format: string, value: string): boolean {
  const check = CHECKS[format.replaceAll("-", "")];
  return check ? check(value) : true;
}

/** Whether `format` names a string format kube-openapi checks (the format validator applies). */
export function isStringFormat(format: string): boolean {
  return STRING_FORMATS.has(format.replaceAll("-", ""));
}
