/**
 * `ObjectMeta` validation as upstream's `ValidateObjectMeta`: name, namespace, labels,
 * annotations, owner references and finalizers, plus label selectors and immutable fields.
 * @module
 */
import { fieldError, type StatusCause } from "../../api/status.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";
import { invalidRepr } from "./causes.ts";
import { isDNS1123Label, isQualifiedName, isValidLabelValue, type NameValidator } from "./names.ts";
import { utf8Length } from "./utf8_length.ts";

/** Total size of all annotations (keys plus values), as upstream's `TotalAnnotationSizeLimitB`. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

/** Label keys and values already found valid (objects repeat the same few): checked once. */
const validLabelKeys = new Set<string>();
const validLabelValues = new Set<string>();
const VALID_LABELS_MAX = 4096;

/** Remembers a label key or value found valid. */
function remember(known: Set<string>, s: string): void {
  if (known.size >= VALID_LABELS_MAX) known.clear();
  known.add(s);
}

/** `ValidateLabels`: every error is reported on the map's path, as upstream does. */
export function validateLabels(labels: unknown, path: string): StatusCause[] {
  if (!labels || typeof labels !== "object") return [];
  const errs: StatusCause[] = [];
  const map = labels as Record<string, unknown>;
  for (const k in map) {
    if (!Object.hasOwn(map, k)) continue;
    const v = map[k];
    if (!validLabelKeys.has(k)) {
      const msgs = isQualifiedName(k);
      for (const msg of msgs) errs.push(fieldError.invalid(path, k, msg));
      if (!msgs.length) remember(validLabelKeys, k);
    }
    const value = typeof v === "string" ? v : String(v);
    if (!validLabelValues.has(value)) {
      const msgs = isValidLabelValue(value);
      for (const msg of msgs) errs.push(fieldError.invalid(path, value, msg));
      if (!msgs.length) remember(validLabelValues, value);
    }
  }
  return errs;
}

/** `ValidateAnnotations`: qualified keys and a 256 KiB total. */
export function validateAnnotations(annotations: unknown, path: string): StatusCause[] {
  if (!annotations || typeof annotations !== "object") return [];
  const errs: StatusCause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(fieldError.invalid(path, k, msg));
    size += utf8Length(k) + utf8Length(String(v ?? ""));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldError.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

interface OwnerRefLike {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

function validateOwnerReferences(refs: unknown, path: string): StatusCause[] {
  if (!Array.isArray(refs)) return [];
  const errs: StatusCause[] = [];
  const controllers: string[] = [];
  for (const ref of refs as OwnerRefLike[]) {
    const apiVersion = ref.apiVersion ?? "";
    const version = apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
    if (!version) errs.push(fieldError.invalid(`${path}.apiVersion`, version, "version must not be empty"));
    if (!ref.kind) errs.push(fieldError.invalid(`${path}.kind`, ref.kind ?? "", "must not be empty"));
    if (!ref.name) errs.push(fieldError.invalid(`${path}.name`, ref.name ?? "", "must not be empty"));
    if (!ref.uid) errs.push(fieldError.invalid(`${path}.uid`, ref.uid ?? "", "must not be empty"));
    if (ref.controller) controllers.push(ref.name ?? "");
  }
  if (controllers.length > 1) {
    errs.push(
      fieldError.invalid(
        path,
        controllers.join(", "),
        `Only one reference can have Controller set to true. Found "true" in references for ${
          controllers.join(" and ")
        }`,
      ),
    );
  }
  return errs;
}

function validateFinalizers(finalizers: unknown, path: string): StatusCause[] {
  if (!Array.isArray(finalizers)) return [];
  const errs: StatusCause[] = [];
  for (const f of finalizers) {
    const name = String(f);
    const msgs = isQualifiedName(name);
    for (const msg of msgs) errs.push(fieldError.invalid(path, name, msg));
    if (msgs.length === 0 && !name.includes("/") && !STANDARD_FINALIZERS.has(name)) {
      errs.push(
        fieldError.invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"),
      );
    }
  }
  return errs;
}

/** Options for {@link validateObjectMeta}. */
export interface ObjectMetaOptions {
  /** Whether the kind is namespaced (namespace required) or cluster-scoped (forbidden). */
  namespaced: boolean;
  /** The name rule; most kinds use `nameIsDNSSubdomain`. */
  nameFn: NameValidator;
}

/** Upstream's `ValidateObjectMeta`, on `metadata`. */
export function validateObjectMeta(obj: KubeObject, opts: ObjectMetaOptions): StatusCause[] {
  const meta = obj.metadata ?? {};
  const errs: StatusCause[] = [];
  if (meta.generateName) {
    for (const msg of opts.nameFn(meta.generateName, true)) {
      errs.push(fieldError.invalid("metadata.generateName", meta.generateName, msg));
    }
  }
  if (!meta.name) errs.push(fieldError.required("metadata.name", "name or generateName is required"));
  else {for (const msg of opts.nameFn(meta.name, false)) {
      errs.push(fieldError.invalid("metadata.name", meta.name, msg));
    }}
  if (opts.namespaced) {
    if (!meta.namespace) errs.push(fieldError.required("metadata.namespace"));
    else {
      for (const msg of isDNS1123Label(meta.namespace)) {
        errs.push(fieldError.invalid("metadata.namespace", meta.namespace, msg));
      }
    }
  } else if (meta.namespace) {
    errs.push(fieldError.forbidden("metadata.namespace", "not allowed on this type"));
  }
  if (typeof meta.generation === "number" && meta.generation < 0) {
    errs.push(
      fieldError.invalid("metadata.generation", meta.generation, "must be greater than or equal to 0"),
    );
  }
  errs.push(...validateLabels(meta.labels, "metadata.labels"));
  errs.push(...validateAnnotations(meta.annotations, "metadata.annotations"));
  errs.push(...validateOwnerReferences(meta.ownerReferences, "metadata.ownerReferences"));
  errs.push(...validateFinalizers(meta.finalizers, "metadata.finalizers"));
  return errs;
}

/** Upstream's `ValidateTemplateObjectMeta`: only labels and annotations of a pod template. */
export function validateTemplateMeta(meta: Record<string, unknown> | undefined, path: string): StatusCause[] {
  return [
    ...validateLabels(meta?.labels, `${path}.labels`),
    ...validateAnnotations(meta?.annotations, `${path}.annotations`),
  ];
}

interface SelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** `metav1validation.ValidateLabelSelector`. */
export function validateLabelSelector(sel: SelectorLike | undefined | null, path: string): StatusCause[] {
  if (!sel) return [];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) {
          errs.push(
            fieldError.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"),
          );
        }
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) {
          errs.push(
            fieldError.forbidden(
              `${p}.values`,
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        }
        break;
      default:
        errs.push(fieldError.invalid(`${p}.operator`, e.operator, "not a valid selector operator"));
    }
    for (const msg of isQualifiedName(e.key ?? "")) {
      errs.push(fieldError.invalid(`${p}.key`, e.key ?? "", msg));
    }
    values.forEach((v, j) => {
      for (const msg of isValidLabelValue(v)) errs.push(fieldError.invalid(`${p}.values[${j}]`, v, msg));
    });
  });
  return errs;
}

/** `ValidateImmutableField`: `Invalid value: <repr>: field is immutable` when the value changed. */
export function immutableField(
  newValue: unknown,
  oldValue: unknown,
  path: string,
  repr: (v: unknown) => string = (v) => JSON.stringify(v ?? null),
): StatusCause[] {
  return deepEqual(newValue ?? null, oldValue ?? null)
    ? []
    : [invalidRepr(path, repr(newValue), "field is immutable")];
}

/** `ValidateNonnegativeField`. */
export function nonNegative(value: unknown, path: string): StatusCause[] {
  return typeof value === "number" && value < 0
    ? [fieldError.invalid(path, value, "must be greater than or equal to 0")]
    : [];
}
