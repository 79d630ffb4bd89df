/**
 * Validation of the smaller parts of a CRD spec, as upstream: subresources (`scale` paths),
 * `additionalPrinterColumns`, `selectableFields`, `conversion` and version deprecation warnings.
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import {
  child,
  duplicate,
  forbidden,
  invalid,
  key,
  notSupported,
  required,
  tooMany,
} from "./field_errors.ts";
import { dns1035Label } from "./names.ts";
import type {
  CustomResourceColumnDefinition,
  CustomResourceConversion,
  CustomResourceSubresources,
  JSONSchemaProps,
} from "./types.ts";

const COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"];
const COLUMN_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"];
const MAX_SELECTABLE_FIELDS = 8;

/** `validateSimpleJSONPath`. */
export function validateSimpleJsonPath(s: string, path: string): StatusCause[] {
  if (s.length === 0) return [invalid(path, s, "must not be empty")];
  if (s[0] !== ".") return [invalid(path, s, "must be a simple json path starting with .")];
  return [];
}

/** `ValidateCustomResourceDefinitionSubresources`. */
export function validateSubresources(
  sub: CustomResourceSubresources | undefined,
  path: string,
): StatusCause[] {
  const scale = sub?.scale;
  if (!scale) return [];
  const errs: StatusCause[] = [];
  const check = (
    value: string | undefined,
    name: string,
    prefixes: string[],
    detail: string,
    need: boolean,
  ) => {
    const p = child(path, `scale.${name}`);
    if (!value) {
      if (need) errs.push(required(p, ""));
      return;
    }
    const e = validateSimpleJsonPath(value, p);
    if (e.length) errs.push(...e);
    else if (!prefixes.some((x) => value.startsWith(x))) errs.push(invalid(p, value, detail));
  };
  check(scale.specReplicasPath, "specReplicasPath", [".spec."], "should be a json path under .spec", true);
  check(
    scale.statusReplicasPath,
    "statusReplicasPath",
    [".status."],
    "should be a json path under .status",
    true,
  );
  check(
    scale.labelSelectorPath,
    "labelSelectorPath",
    [".spec.", ".status."],
    "should be a json path under either .spec or .status",
    false,
  );
  return errs;
}

/** `ValidateCustomResourceColumnDefinition` (note upstream's `JSONPath` field name in paths). */
export function validateColumn(col: CustomResourceColumnDefinition, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!col.name) errs.push(required(child(path, "name"), ""));
  const types = `must be one of ${COLUMN_TYPES.join(",")}`;
  if (!col.type) errs.push(required(child(path, "type"), types));
  else if (!COLUMN_TYPES.includes(col.type)) errs.push(invalid(child(path, "type"), col.type, types));
  if (col.format && !COLUMN_FORMATS.includes(col.format)) {
    errs.push(invalid(child(path, "format"), col.format, `must be one of ${COLUMN_FORMATS.join(",")}`));
  }
  if (!col.jsonPath) errs.push(required(child(path, "JSONPath"), ""));
  else errs.push(...validateSimpleJsonPath(col.jsonPath, child(path, "JSONPath")));
  return errs;
}

/** The schema node a selectable field's `.a.b` path points at, or why it points nowhere. */
function resolveField(
  schema: JSONSchemaProps,
  jsonPath: string,
): { schema?: JSONSchemaProps; error?: string } {
  if (!jsonPath.startsWith(".")) return { error: `must start with '.'` };
  let s: JSONSchemaProps | undefined = schema;
  for (const name of jsonPath.slice(1).split(".")) {
    if (!name || name.includes("[")) return { error: "does not refer to a valid field" };
    const next: JSONSchemaProps | undefined = s?.properties && Object.hasOwn(s.properties, name)
      ? s.properties[name]
      : typeof s?.additionalProperties === "object"
      ? s.additionalProperties
      : undefined;
    if (!next) return { error: `does not refer to a valid field` };
    s = next;
  }
  return { schema: s };
}

/** `ValidateCustomResourceSelectableFields`. */
export function validateSelectableFields(
  fields: { jsonPath?: string }[],
  schema: JSONSchemaProps | undefined,
  path: string,
): StatusCause[] {
  const errs: StatusCause[] = [];
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    const p = child(key(path, i), "jsonPath");
    if (!f.jsonPath) {
      errs.push(required(p, ""));
      return;
    }
    const found = resolveField(schema ?? {}, f.jsonPath);
    if (found.error) {
      errs.push(invalid(p, f.jsonPath, `is an invalid path: ${found.error}`));
      return;
    }
    if (f.jsonPath.split(".")[1] === "metadata") {
      errs.push(invalid(p, f.jsonPath, "must not point to fields in metadata"));
    }
    if (!["string", "boolean", "integer"].includes(found.schema?.type ?? "")) {
      errs.push(
        invalid(
          p,
          f.jsonPath,
          "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
        ),
      );
    }
    if (seen.has(f.jsonPath)) errs.push(duplicate(p, f.jsonPath));
    seen.add(f.jsonPath);
  });
  if (seen.size > MAX_SELECTABLE_FIELDS) errs.push(tooMany(path, seen.size, MAX_SELECTABLE_FIELDS));
  return errs;
}

/** `validateDeprecationWarning`. */
export function validateDeprecation(
  deprecated: boolean,
  warning: string | undefined,
  path: string,
): StatusCause[] {
  const msgs: string[] = [];
  if (!deprecated && warning !== undefined) msgs.push("can only be set for deprecated versions");
  else if (warning !== undefined) {
    if (warning.length > 256) msgs.push("must be <= 256 characters long");
    if (warning.length === 0) msgs.push("must not be an empty string");
    const bad = [...warning].findIndex((c) => /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u.test(c));
    if (bad >= 0) {
      msgs.push(
        `must only contain printable UTF-8 characters; non-printable character found at index ${bad}`,
      );
    }
  }
  return msgs.map((m) => invalid(path, warning, m));
}

const REVIEW_VERSIONS = ["v1", "v1beta1"];

/** `validateCustomResourceConversion`, with v1's `webhook` mapped to upstream's internal paths. */
export function validateConversion(
  conversion: CustomResourceConversion | undefined,
  requireRecognizedVersion: boolean,
  path: string,
): StatusCause[] {
  if (!conversion) return [];
  const errs: StatusCause[] = [];
  const strategy = conversion.strategy ?? "";
  if (!strategy) errs.push(required(child(path, "strategy"), ""));
  else if (strategy !== "None" && strategy !== "Webhook") {
    errs.push(notSupported(child(path, "strategy"), strategy, ["None", "Webhook"]));
  }
  const cc = conversion.webhook?.clientConfig;
  const versions = conversion.webhook?.conversionReviewVersions ?? [];
  const ccPath = child(path, "webhookClientConfig");
  const versionsPath = child(path, "conversionReviewVersions");
  if (strategy === "Webhook") {
    if (!cc) errs.push(required(ccPath, "required when strategy is set to Webhook"));
    else if ((cc.url === undefined) === (cc.service === undefined)) {
      errs.push(required(ccPath, "exactly one of url or service is required"));
    } else if (cc.url !== undefined) errs.push(...webhookUrl(cc.url, child(ccPath, "url")));
    else if (cc.service) {
      const sp = child(ccPath, "service");
      if (!cc.service.name) errs.push(required(child(sp, "name"), "service name is required"));
      if (!cc.service.namespace) errs.push(required(child(sp, "namespace"), "service namespace is required"));
      const port = cc.service.port;
      if (port !== undefined && (port < 1 || port > 65535)) {
        errs.push(
          invalid(child(sp, "port"), port, "port is not valid: must be between 1 and 65535, inclusive"),
        );
      }
    }
    if (versions.length === 0) errs.push(required(versionsPath, ""));
    else {
      const seen = new Set<string>();
      versions.forEach((v, i) => {
        if (seen.has(v)) {
          errs.push(invalid(key(versionsPath, i), v, "duplicate version"));
          return;
        }
        seen.add(v);
        for (const e of dns1035Label(v)) errs.push(invalid(key(versionsPath, i), v, e));
      });
      if (requireRecognizedVersion && !versions.some((v) => REVIEW_VERSIONS.includes(v))) {
        errs.push(
          invalid(versionsPath, versions, `must include at least one of ${REVIEW_VERSIONS.join(", ")}`),
        );
      }
    }
  } else {
    if (cc) errs.push(forbidden(ccPath, "should not be set when strategy is not set to Webhook"));
    if (versions.length) {
      errs.push(forbidden(versionsPath, "should not be set when strategy is not set to Webhook"));
    }
  }
  return errs;
}

/** `webhook.ValidateWebhookURL` with forceHTTPS. */
function webhookUrl(raw: string, path: string): StatusCause[] {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (e) {
    return [invalid(path, raw, `host must be specified: ${(e as Error).message}`)];
  }
  const errs: StatusCause[] = [];
  if (u.protocol !== "https:") errs.push(invalid(path, raw, "'https' is the only allowed URL scheme"));
  if (!u.host) errs.push(invalid(path, raw, "host must be specified"));
  if (u.username || u.password) errs.push(invalid(path, raw, "user information is not permitted in the URL"));
  if (u.hash || raw.includes("#")) errs.push(invalid(path, raw, "fragments are not permitted in the URL"));
  if (u.search || raw.includes("?")) {
    errs.push(invalid(path, raw, "query parameters are not permitted in the URL"));
  }
  return errs;
}
