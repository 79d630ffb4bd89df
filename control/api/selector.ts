/**
 * Label and field selectors: parsing (the `labelSelector` / `fieldSelector` query syntax) and
 * matching. Pure; shared by the store, the API server, informers and controllers.
 *
 * @example
 * ```ts
 * const s = parseLabelSelector("app=web,tier in (front,back),!canary");
 * matchesLabels(s, { app: "web", tier: "front" }); // true
 * ```
 * @module
 */
import { badRequest } from "./status.ts";

export type LabelOperator = "=" | "!=" | "in" | "notin" | "exists" | "!exists";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** A parsed label selector: every requirement must hold. An empty list matches everything. */
export type LabelSelector = LabelRequirement[];

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

export type FieldSelector = FieldRequirement[];

const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Whether `key` is a valid qualified label key (`[prefix/]name`). */
export function isQualifiedName(key: string): boolean {
  const i = key.lastIndexOf("/");
  const name = i < 0 ? key : key.slice(i + 1);
  if (!NAME.test(name) || name.length > 63) return false;
  if (i < 0) return true;
  const prefix = key.slice(0, i);
  return prefix.length > 0 && prefix.length <= 253 && PREFIX.test(prefix);
}

/** Whether `value` is a valid label value (at most 63 characters). */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && VALUE.test(value);
}

function parseError(selector: string, why: string) {
  return badRequest(`unable to parse requirement: ${why} (in label selector "${selector}")`);
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Parses the `labelSelector` query syntax. Throws a 400 ApiError naming the bad requirement. */
export function parseLabelSelector(selector: string | null | undefined): LabelSelector {
  if (!selector || !selector.trim()) return [];
  const out: LabelSelector = [];
  for (const raw of splitTopLevel(selector)) {
    const part = raw.trim();
    if (!part) throw parseError(selector, "found '', expected: identifier");
    let m: RegExpMatchArray | null;
    let req: LabelRequirement;
    if ((m = part.match(/^!\s*([^\s=!(),]+)$/))) {
      req = { key: m[1], operator: "!exists", values: [] };
    } else if ((m = part.match(/^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const values = m[3].split(",").map((v) => v.trim());
      if (values.length === 1 && values[0] === "" && m[2] === "in") {
        throw parseError(selector, `for 'in', 'notin' operators, values set can't be empty`);
      }
      req = { key: m[1], operator: m[2] as "in" | "notin", values: values.filter((v) => v !== "") };
    } else if ((m = part.match(/^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/))) {
      req = { key: m[1], operator: m[2] === "!=" ? "!=" : "=", values: [m[3]] };
    } else if ((m = part.match(/^([^\s=!(),]+)$/))) {
      req = { key: m[1], operator: "exists", values: [] };
    } else {
      throw parseError(selector, `"${part}" is not a valid requirement`);
    }
    if (!isQualifiedName(req.key)) {
      throw parseError(
        selector,
        `key: Invalid value: "${req.key}": name part must consist of alphanumeric characters, '-', '_' or '.', ` +
          `and must start and end with an alphanumeric character`,
      );
    }
    for (const v of req.values) {
      if (!isLabelValue(v)) {
        throw parseError(
          selector,
          `values[0][${req.key}]: Invalid value: "${v}": a valid label must be an empty string or consist of ` +
            `alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        );
      }
    }
    out.push(req);
  }
  return out;
}

/** Whether a set of labels satisfies every requirement. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of selector) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.operator) {
      case "=":
        if (v !== r.values[0]) return false;
        break;
      case "!=":
        if (v === r.values[0]) return false;
        break;
      case "in":
        if (!has || !r.values.includes(v!)) return false;
        break;
      case "notin":
        if (has && r.values.includes(v!)) return false;
        break;
      case "exists":
        if (!has) return false;
        break;
      case "!exists":
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Renders a parsed selector back to query syntax. */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector.map((r) => {
    switch (r.operator) {
      case "=":
      case "!=":
        return `${r.key}${r.operator}${r.values[0]}`;
      case "in":
      case "notin":
        return `${r.key} ${r.operator} (${r.values.join(",")})`;
      case "exists":
        return r.key;
      case "!exists":
        return `!${r.key}`;
    }
  }).join(",");
}

/** The structured `metav1.LabelSelector` (matchLabels + matchExpressions). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * Converts a `metav1.LabelSelector` to requirements. A null selector matches nothing (returns
 * null); an empty one matches everything, as upstream `LabelSelectorAsSelector` does.
 */
export function fromLabelSelectorObject(sel: LabelSelectorObject | null | undefined): LabelSelector | null {
  if (!sel) return null;
  const out: LabelSelector = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) out.push({ key, operator: "=", values: [value] });
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" } as const)[
      e.operator as "In"
    ];
    if (!op) throw badRequest(`"${e.operator}" is not a valid label selector operator`);
    out.push({ key: e.key, operator: op, values: e.values ?? [] });
  }
  return out;
}

/** Parses the `fieldSelector` query syntax (`a=b,c!=d`, with `\` escapes). */
export function parseFieldSelector(selector: string | null | undefined): FieldSelector {
  if (!selector || !selector.trim()) return [];
  const out: FieldSelector = [];
  for (const part of splitEscaped(selector, ",")) {
    const m = part.match(/^((?:[^=!\\]|\\.)+?)\s*(==|=|!=)\s*(.*)$/s);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    out.push({ field: m[1].trim(), operator: m[2] === "!=" ? "!=" : "=", value: unescape(m[3]) });
  }
  return out;
}

function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      parts.push(cur);
      cur = "";
    } else cur += s[i];
  }
  parts.push(cur);
  return parts.filter((p) => p.trim() !== "");
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/** Whether an object's selectable fields satisfy every requirement. */
export function matchesFields(selector: FieldSelector, fields: Record<string, string>): boolean {
  for (const r of selector) {
    const v = fields[r.field] ?? "";
    if (r.operator === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}
