/**
 * Validation shared by the workload kinds (apps and batch): selectors that must match the pod
 * template's labels, template restart policies, int-or-percent fields, and the Go renderings
 * upstream uses in those messages.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { fieldError, type StatusCause } from "../../api/status.ts";
import { fromLabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import { goLabelSelector, goQuote, goStringMap, invalidRepr, notSupportedRepr } from "./causes.ts";
import { immutableField, validateLabelSelector } from "./metadata.ts";
import { isValidPercent } from "./names.ts";

type Obj = Record<string, any>;

/** How a selector relates to labels: `nothing` for a nil selector, `invalid` for a bad operator. */
export function selectorMatches(sel: unknown, labels: unknown): "match" | "mismatch" | "empty" | "invalid" {
  if (!sel) return "mismatch";
  const s = sel as Obj;
  if (Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions ?? []).length === 0) return "empty";
  try {
    const reqs = fromLabelSelectorObject(s);
    return reqs && matchesLabels(reqs, (labels ?? {}) as Record<string, string>) ? "match" : "mismatch";
  } catch {
    return "invalid";
  }
}

/** `spec.template.metadata.labels: Invalid value: map[...]: \`selector\` does not match template \`labels\``. */
export function selectorMismatch(labels: unknown, path: string): StatusCause {
  return invalidRepr(
    path,
    goStringMap(labels as Record<string, string>),
    "`selector` does not match template `labels`",
  );
}

/**
 * Selector checks common to the workloads: required (when `required`), well-formed, non-empty
 * (`empty selector is invalid for <kind>`), and matching the template's labels.
 */
export function validateWorkloadSelector(
  spec: Obj,
  path: string,
  opts: { kind: string; required: boolean; templatePath?: string },
): StatusCause[] {
  const errs: StatusCause[] = [];
  const sel = spec.selector;
  if (!sel) {
    if (opts.required) errs.push(fieldError.required(`${path}.selector`));
  } else {
    errs.push(...validateLabelSelector(sel, `${path}.selector`));
    if (Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      errs.push(
        invalidRepr(`${path}.selector`, goLabelSelector(sel), `empty selector is invalid for ${opts.kind}`),
      );
    }
  }
  const match = selectorMatches(sel, spec.template?.metadata?.labels);
  if (match === "invalid") {
    errs.push(invalidRepr(`${path}.selector`, goLabelSelector(sel), "invalid label selector"));
  } else if (match === "mismatch") {
    errs.push(
      selectorMismatch(
        spec.template?.metadata?.labels,
        opts.templatePath ?? `${path}.template.metadata.labels`,
      ),
    );
  }
  return errs;
}

/** The template restart policy a workload allows (`Always` for apps, `OnFailure`/`Never` for jobs). */
export function templateRestartPolicy(
  template: Obj | undefined,
  path: string,
  allowed: string[],
): StatusCause[] {
  const policy = template?.spec?.restartPolicy ?? "";
  return allowed.includes(policy)
    ? []
    : [fieldError.notSupported(`${path}.spec.restartPolicy`, policy, allowed)];
}

/** `ValidateImmutableField` for a selector, with upstream's `v1.LabelSelector{...}` rendering. */
export function immutableSelector(sel: unknown, oldSel: unknown, path: string): StatusCause[] {
  return immutableField(sel, oldSel, path, (v) => goLabelSelector(v as Obj));
}

/** Go's `%#v` of an `intstr.IntOrString`. */
export function goIntOrString(v: unknown): string {
  if (typeof v === "string") return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${Number(v ?? 0)}, StrVal:""}`;
}

function percentValue(v: unknown): number | undefined {
  if (typeof v !== "string" || isValidPercent(v).length) return undefined;
  return parseInt(v.slice(0, -1), 10);
}

/** `getIntOrPercentValue`. */
export function intOrPercentValue(v: unknown): number {
  const p = percentValue(v);
  if (p !== undefined) return p;
  if (typeof v === "number") return v;
  const n = parseInt(String(v ?? ""), 10);
  return Number.isNaN(n) ? 0 : n;
}

/** `ValidatePositiveIntOrPercent`. */
export function validatePositiveIntOrPercent(v: unknown, path: string): StatusCause[] {
  if (typeof v === "string") return isValidPercent(v).map((msg) => invalidRepr(path, goIntOrString(v), msg));
  if (typeof v === "number" && v < 0) {
    return [fieldError.invalid(path, v, "must be greater than or equal to 0")];
  }
  return [];
}

/** `IsNotMoreThan100Percent`. */
export function notMoreThan100Percent(v: unknown, path: string): StatusCause[] {
  const p = percentValue(v);
  return p !== undefined && p > 100
    ? [invalidRepr(path, goIntOrString(v), "must not be greater than 100%")]
    : [];
}

/** `Unsupported value: apps.<Type>{Type:"x", RollingUpdate:...}` for an unknown strategy type. */
export function unsupportedStrategy(
  path: string,
  strategy: Obj | undefined,
  goType: string,
  rollingType: string,
  supported: string[],
): StatusCause {
  const ru = strategy?.rollingUpdate ? `(*${rollingType})(0xc000000000)` : `(*${rollingType})(nil)`;
  return notSupportedRepr(
    path,
    `${goType}{Type:${goQuote(strategy?.type ?? "")}, RollingUpdate:${ru}}`,
    supported,
  );
}
