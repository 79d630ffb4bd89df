/**
 * Defaulting and validation of `apiextensions.k8s.io/v1` CustomResourceDefinitions, following
 * upstream's `apis/apiextensions/validation/validation.go`.
 *
 * Upstream validates the internal version, into which v1 converts by hoisting per-version
 * `schema`, `subresources`, `additionalPrinterColumns` and `selectableFields` that are identical in
 * every version to the top level. Field paths therefore read `spec.validation.openAPIV3Schema...`,
 * `spec.subresources...` and `spec.additionalPrinterColumns[0]...` for a single-version CRD, and
 * `spec.versions[1].schema.openAPIV3Schema...` when versions differ. We reproduce that.
 *
 * @example
 * ```ts
 * defaultCrd(crd);
 * const causes = validateCrd(crd);                // create
 * const causes2 = validateCrd(updated, stored);   // update
 * if (causes.length) throw invalid("CustomResourceDefinition", "apiextensions.k8s.io", crd.metadata.name!, causes);
 * ```
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import { deepEqual } from "../../api/types.ts";
import {
  validateColumn,
  validateConversion,
  validateDeprecation,
  validateSelectableFields,
  validateSubresources,
} from "./crd_fields.ts";
import { type SchemaOptions, STRICT, validateCrdSchema } from "./crd_schema.ts";
import { storedVersions } from "./crd_status.ts";
import { child, invalid, key, notSupported, required } from "./field_errors.ts";
import { API_APPROVED_ANNOTATION, approvalState, isProtectedGroup } from "./approval.ts";
import { dns1035Label, dns1123Subdomain } from "./names.ts";
import { structuralInitError, validateStructural } from "./structural.ts";
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionNames,
  CustomResourceDefinitionSpec,
  CustomResourceDefinitionVersion,
  JSONSchemaProps,
} from "./types.ts";

/** Upstream's `SetDefaults_CustomResourceDefinition` (v1), in place; returns `crd`. */
export function defaultCrd(crd: CustomResourceDefinition): CustomResourceDefinition {
  crd.spec ??= {};
  const names = (crd.spec.names ??= {});
  if (!names.singular && names.kind !== undefined) names.singular = names.kind.toLowerCase();
  if (!names.listKind && names.kind) names.listKind = `${names.kind}List`;
  crd.spec.conversion ??= { strategy: "None" };
  const service = crd.spec.conversion.webhook?.clientConfig?.service;
  if (service && service.port === undefined) service.port = 443;
  const status = (crd.status ??= {});
  if (!status.storedVersions?.length) {
    const storage = (crd.spec.versions ?? []).find((v) => v.storage);
    if (storage?.name) status.storedVersions = [storage.name];
  }
  return crd;
}

/** The internal version's view of a v1 spec: what is identical in every version is hoisted. */
interface Hoisted {
  validation?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: CustomResourceDefinitionVersion["subresources"];
  columns?: CustomResourceDefinitionVersion["additionalPrinterColumns"];
  selectableFields?: CustomResourceDefinitionVersion["selectableFields"];
  versions: CustomResourceDefinitionVersion[];
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list?.length ? list : undefined;
}

/** `Convert_v1_CustomResourceDefinitionSpec_To_apiextensions_CustomResourceDefinitionSpec`'s hoisting. */
export function hoist(versions: CustomResourceDefinitionVersion[]): Hoisted {
  if (versions.length === 0) return { versions };
  const same = (get: (v: CustomResourceDefinitionVersion) => unknown) =>
    versions.every((v) => deepEqual(get(v), get(versions[0])));
  const schema = same((v) => v.schema);
  const subresources = same((v) => v.subresources);
  const columns = same((v) => nonEmpty(v.additionalPrinterColumns));
  const fields = same((v) => nonEmpty(v.selectableFields));
  const first = versions[0];
  return {
    validation: schema ? first.schema : undefined,
    subresources: subresources ? first.subresources : undefined,
    columns: columns ? nonEmpty(first.additionalPrinterColumns) : undefined,
    selectableFields: fields ? nonEmpty(first.selectableFields) : undefined,
    versions: versions.map((v) => ({
      ...v,
      schema: schema ? undefined : v.schema,
      subresources: subresources ? undefined : v.subresources,
      additionalPrinterColumns: columns ? undefined : v.additionalPrinterColumns,
      selectableFields: fields ? undefined : v.selectableFields,
    })),
  };
}

interface Options extends SchemaOptions {
  requireOpenAPISchema: boolean;
  requireImmutableNames: boolean;
  requireRecognizedConversionReviewVersion: boolean;
}

function schemasOf(spec: CustomResourceDefinitionSpec | undefined): JSONSchemaProps[] {
  return (spec?.versions ?? []).flatMap((v) => v.schema?.openAPIV3Schema ? [v.schema.openAPIV3Schema] : []);
}

/** The checks upstream relaxes on update because the stored CRD already violates them. */
function optionsFor(old: CustomResourceDefinition | undefined): Options {
  if (!old) {
    return {
      ...STRICT,
      requireOpenAPISchema: true,
      requireImmutableNames: false,
      requireRecognizedConversionReviewVersion: true,
    };
  }
  const oldSchemas = schemasOf(old.spec);
  const nonStructural = oldSchemas.some((s) => structuralInitError(s) || validateStructural(s, "").length);
  const invalidTypes = oldSchemas.some((s) =>
    schemaHas(s, (n) => !!n.type && !OPENAPI_TYPES.includes(n.type))
  );
  const oldVersions = old.spec?.conversion?.webhook?.conversionReviewVersions ?? [];
  return {
    requireStructural: !nonStructural,
    requireValidPropertyType: !invalidTypes,
    requireAtomicSetType: true,
    requireMapListKeysMapSetValidation: true,
    requireOpenAPISchema: (old.spec?.versions ?? []).every((v) => v.schema?.openAPIV3Schema),
    requireImmutableNames: (old.status?.conditions ?? []).some((c) =>
      c.type === "Established" && c.status === "True"
    ),
    requireRecognizedConversionReviewVersion: oldVersions.length === 0 ||
      oldVersions.some((v) => v === "v1" || v === "v1beta1"),
  };
}

/**
 * Validates a (defaulted) CRD on create, or on update when `old` is given. Returns upstream's field
 * errors; an empty list means valid. `crd.status` is ignored (the server owns it): the stored
 * versions checked are those {@link storedVersions} computes. Generic metadata rules (namespace,
 * labels, immutable name, ...) are left to the server's ObjectMeta validation.
 */
export function validateCrd(crd: CustomResourceDefinition, old?: CustomResourceDefinition): StatusCause[] {
  const errs: StatusCause[] = [];
  const spec = crd.spec ?? {};
  const opts = optionsFor(old);
  if (!old) errs.push(...validateName(crd, spec));
  errs.push(...validateSpec(spec, opts));
  if (old) errs.push(...validateSpecUpdate(spec, old.spec ?? {}, opts));
  errs.push(...validateStoredVersions(storedVersions(crd, old), spec.versions ?? []));
  errs.push(...validateApproval(crd, old));
  if (!old?.spec?.preserveUnknownFields && spec.preserveUnknownFields) {
    errs.push(
      invalid(
        "spec.preserveUnknownFields",
        true,
        "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
      ),
    );
  }
  return errs;
}

function validateName(crd: CustomResourceDefinition, spec: CustomResourceDefinitionSpec): StatusCause[] {
  const name = crd.metadata?.name ?? "";
  if (!name) {
    return crd.metadata?.generateName ? [] : [required("metadata.name", "name or generateName is required")];
  }
  const msgs = dns1123Subdomain(name);
  if (name !== `${spec.names?.plural ?? ""}.${spec.group ?? ""}`) {
    msgs.push(`must be spec.names.plural+"."+spec.group`);
  }
  return msgs.map((m) => invalid("metadata.name", name, m));
}

function hasStatus(sub: CustomResourceDefinitionVersion["subresources"]): boolean {
  return sub?.status !== undefined && sub.status !== null;
}

const OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"];

/** upstream's `SchemaHas`: whether `pred` holds for any node of `s`. */
function schemaHas(s: JSONSchemaProps | undefined, pred: (s: JSONSchemaProps) => boolean): boolean {
  if (!s) return false;
  if (pred(s)) return true;
  const subs = [
    ...(Array.isArray(s.items) ? s.items : s.items ? [s.items] : []),
    ...(s.allOf ?? []),
    ...(s.anyOf ?? []),
    ...(s.oneOf ?? []),
    ...(s.not ? [s.not] : []),
    ...Object.values(s.properties ?? {}),
    ...Object.values(s.patternProperties ?? {}),
    ...Object.values(s.definitions ?? {}),
    ...(typeof s.additionalProperties === "object" ? [s.additionalProperties] : []),
    ...(typeof s.additionalItems === "object" ? [s.additionalItems] : []),
    ...Object.values(s.dependencies ?? {}).filter((d): d is JSONSchemaProps => !Array.isArray(d)),
  ];
  return subs.some((sub) => schemaHas(sub, pred));
}

function hasDefaults(s: JSONSchemaProps | undefined): boolean {
  return schemaHas(s, (n) => n.default !== undefined);
}

function validateSpec(spec: CustomResourceDefinitionSpec, opts: Options): StatusCause[] {
  const errs: StatusCause[] = [];
  const group = spec.group ?? "";
  if (!group) errs.push(required("spec.group", ""));
  else if (dns1123Subdomain(group).length) {
    errs.push(invalid("spec.group", group, dns1123Subdomain(group).join(",")));
  } else if (group.split(".").length < 2) {
    errs.push(invalid("spec.group", group, "should be a domain with at least one dot"));
  }

  if (!spec.scope) errs.push(required("spec.scope", ""));
  else if (spec.scope !== "Cluster" && spec.scope !== "Namespaced") {
    errs.push(notSupported("spec.scope", spec.scope, ["Cluster", "Namespaced"]));
  }

  const versions = spec.versions ?? [];
  const h = hoist(versions);
  const preserve = spec.preserveUnknownFields === true;
  const shared = h.validation?.openAPIV3Schema;
  if (!shared && (opts.requireOpenAPISchema || !preserve)) {
    h.versions.forEach((v, i) => {
      if (v.schema?.openAPIV3Schema) return;
      if (opts.requireOpenAPISchema) errs.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, ""));
      else if (v.served) {
        errs.push(
          required(`spec.versions[${i}].schema.openAPIV3Schema`, "because otherwise all fields are pruned"),
        );
      }
    });
  }
  const schemaOpts = { ...opts, requireStructural: opts.requireStructural || !preserve };
  if ([shared, ...h.versions.map((v) => v.schema?.openAPIV3Schema)].some(hasDefaults)) {
    schemaOpts.requireStructural = true;
    if (preserve) {
      errs.push(
        invalid("spec.preserveUnknownFields", true, "must be false in order to use defaults in the schema"),
      );
    }
  }

  let storage = 0;
  const seen = new Set<string>();
  let unique = true;
  h.versions.forEach((v, i) => {
    const p = `spec.versions[${i}]`;
    if (v.storage) storage++;
    if (seen.has(v.name ?? "")) unique = false;
    seen.add(v.name ?? "");
    const nameErrs = dns1035Label(v.name ?? "");
    if (nameErrs.length) errs.push(invalid(`${p}.name`, v.name ?? "", nameErrs.join(",")));
    errs.push(...validateDeprecation(!!v.deprecated, v.deprecationWarning, `${p}.deprecationWarning`));
    const statusEnabled = hasStatus(h.subresources ?? v.subresources);
    errs.push(...validateCrdSchema(v.schema, statusEnabled, `${p}.schema`, schemaOpts));
    errs.push(...validateSubresources(v.subresources, `${p}.subresources`));
    (v.additionalPrinterColumns ?? []).forEach((c, j) =>
      errs.push(...validateColumn(c, `${p}.additionalPrinterColumns[${j}]`))
    );
    if (v.selectableFields?.length) {
      if (!v.schema?.openAPIV3Schema) {
        errs.push(
          invalid(
            `${p}.selectableFields`,
            "",
            "may only be set when `version.schema.openAPIV3Schema` is not included",
          ),
        );
      } else {errs.push(
          ...validateSelectableFields(v.selectableFields, v.schema.openAPIV3Schema, `${p}.selectableFields`),
        );}
    }
  });
  if (!unique) errs.push(invalid("spec.versions", versions, "must contain unique version names"));
  if (storage !== 1) {
    errs.push(invalid("spec.versions", versions, "must have exactly one version marked as storage version"));
  }
  if (versions.length > 0) {
    const first = versions[0].name ?? "";
    const e = dns1035Label(first);
    if (first && e.length) errs.push(invalid("spec.version", first, e.join(",")));
  }

  const names = spec.names ?? {};
  for (const n of ["plural", "singular", "kind", "listKind"] as const) {
    if (!names[n]) errs.push(required(`spec.names.${n}`, ""));
  }
  errs.push(...validateNames(names, "spec.names"));
  const anyStatus = hasStatus(h.subresources) || h.versions.some((v) => hasStatus(v.subresources));
  errs.push(...validateCrdSchema(h.validation, anyStatus, "spec.validation", schemaOpts));
  errs.push(...validateSubresources(h.subresources, "spec.subresources"));
  (h.columns ?? []).forEach((c, i) => errs.push(...validateColumn(c, `spec.additionalPrinterColumns[${i}]`)));
  if (h.selectableFields?.length) {
    if (!shared) {
      errs.push(invalid("spec.selectableFields", "", "may only be set when validations.schema is included"));
    } else errs.push(...validateSelectableFields(h.selectableFields, shared, "spec.selectableFields"));
  }
  const strategy = spec.conversion?.strategy;
  if (spec.conversion && strategy !== "None" && preserve) {
    errs.push(
      invalid(
        "spec.conversion.strategy",
        strategy ?? "",
        "must be None if spec.preserveUnknownFields is true",
      ),
    );
  }
  errs.push(
    ...validateConversion(spec.conversion, opts.requireRecognizedConversionReviewVersion, "spec.conversion"),
  );
  return errs;
}

function validateSpecUpdate(
  spec: CustomResourceDefinitionSpec,
  old: CustomResourceDefinitionSpec,
  opts: Options,
): StatusCause[] {
  const errs: StatusCause[] = [];
  const immutable = (path: string, now: unknown, before: unknown) => {
    if (!deepEqual(now ?? "", before ?? "")) errs.push(invalid(path, now ?? "", "field is immutable"));
  };
  if (opts.requireImmutableNames) {
    immutable("spec.scope", spec.scope, old.scope);
    immutable("spec.names.kind", spec.names?.kind, old.names?.kind);
  }
  immutable("spec.group", spec.group, old.group);
  immutable("spec.names.plural", spec.names?.plural, old.names?.plural);
  return errs;
}

/** `ValidateCustomResourceDefinitionNames`. */
export function validateNames(names: CustomResourceDefinitionNames, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const label = (field: string, value: string | undefined, lower = false) => {
    if (!value) return;
    const e = dns1035Label(lower ? value.toLowerCase() : value);
    if (!e.length) return;
    errs.push(
      invalid(
        child(path, field),
        value,
        `${lower ? "may have mixed case, but should otherwise match: " : ""}${e.join(",")}`,
      ),
    );
  };
  label("plural", names.plural);
  label("singular", names.singular);
  label("kind", names.kind, true);
  label("listKind", names.listKind, true);
  (names.shortNames ?? []).forEach((s, i) => {
    const e = dns1035Label(s);
    if (e.length) errs.push(invalid(key(child(path, "shortNames"), i), s, e.join(",")));
  });
  if (names.kind && names.kind === names.listKind) {
    errs.push(invalid(child(path, "listKind"), names.listKind, "kind and listKind may not be the same"));
  }
  (names.categories ?? []).forEach((c, i) => {
    const e = dns1035Label(c);
    if (e.length) errs.push(invalid(key(child(path, "categories"), i), c, e.join(",")));
  });
  return errs;
}

/** `ValidateCustomResourceDefinitionStoredVersions`. */
function validateStoredVersions(
  stored: string[],
  versions: CustomResourceDefinitionVersion[],
): StatusCause[] {
  const path = "status.storedVersions";
  if (stored.length === 0) return [invalid(path, null, "must have at least one stored version")];
  const errs: StatusCause[] = [];
  const remaining = new Map(stored.map((v, i) => [v, i]));
  for (const v of versions) {
    const found = remaining.has(v.name ?? "");
    if (v.storage && !found) errs.push(invalid(path, stored, `must have the storage version ${v.name}`));
    if (found) remaining.delete(v.name ?? "");
  }
  for (const [v, i] of remaining) {
    errs.push(
      invalid(
        key(path, i),
        v,
        `missing from spec.versions; ${v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in ${v} and removes ${v} from status.storedVersions`,
      ),
    );
  }
  return errs;
}

function validateApproval(crd: CustomResourceDefinition, old?: CustomResourceDefinition): StatusCause[] {
  if (!isProtectedGroup(crd.spec?.group ?? "")) return [];
  const now = approvalState(crd.metadata?.annotations);
  if (old && approvalState(old.metadata?.annotations).state === now.state) return [];
  const path = `metadata.annotations[${API_APPROVED_ANNOTATION}]`;
  if (now.state === "Missing") return [required(path, now.reason)];
  if (now.state === "Invalid") {
    return [invalid(path, crd.metadata?.annotations?.[API_APPROVED_ANNOTATION], now.reason)];
  }
  return [];
}
