/**
 * The admission kind's binding: AdmissionReview (admission.k8s.io/v1) ↔ the WIT records of
 * `skiff:admission@0.1.0`, on both sides of the runner. The host side ({@linkcode toWitRequest},
 * {@linkcode toReviewResponse}) is pure; the guest side ({@linkcode admissionOps}) runs in the
 * runner on the plugin's `policy` export and refuses malformed answers.
 * @module
 */
import { type GuestOps, MalformedResult } from "../host/protocol.ts";

/** The WIT `admission-request`, as JSON crosses to the runner (options as null). */
export interface WitAdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource: string;
  name: string;
  namespace: string;
  operation: "create" | "update" | "delete" | "connect";
  userInfo: { username: string; uid: string; groups: string[] };
  object: string | null;
  oldObject: string | null;
  dryRun: boolean;
}

/** The WIT `admission-response`, checked. */
export interface WitAdmissionResponse {
  allowed: boolean;
  message: string;
  code: number;
  patch: string | null;
  warnings: string[];
}

/** An upstream AdmissionReview request (the fields Skiff sends). */
export interface AdmissionReviewRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo: { username: string; uid?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** AdmissionReview.request → the WIT record. Pure. */
export function toWitRequest(r: AdmissionReviewRequest): WitAdmissionRequest {
  const op = r.operation.toLowerCase();
  if (!["create", "update", "delete", "connect"].includes(op)) throw new TypeError(`unknown operation ${r.operation}`);
  return {
    uid: r.uid,
    kind: { group: r.kind.group ?? "", version: r.kind.version ?? "", kind: r.kind.kind ?? "" },
    resource: { group: r.resource.group ?? "", version: r.resource.version ?? "", resource: r.resource.resource ?? "" },
    subResource: r.subResource ?? "",
    name: r.name ?? "",
    namespace: r.namespace ?? "",
    operation: op as WitAdmissionRequest["operation"],
    userInfo: { username: r.userInfo.username, uid: r.userInfo.uid ?? "", groups: r.userInfo.groups ?? [] },
    object: r.object == null ? null : JSON.stringify(r.object),
    oldObject: r.oldObject == null ? null : JSON.stringify(r.oldObject),
    dryRun: r.dryRun === true,
  };
}

/** The checked WIT answer → AdmissionReview.response (patch base64, patchType JSONPatch). Pure. */
export function toReviewResponse(uid: string, w: WitAdmissionResponse, mutating: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { uid, allowed: w.allowed };
  if (!w.allowed) out.status = { code: w.code || 403, message: w.message, ...(w.code === 0 || w.code === 403 ? { reason: "Forbidden" } : {}) };
  if (w.allowed && mutating && w.patch) {
    out.patchType = "JSONPatch";
    out.patch = btoa(String.fromCharCode(...new TextEncoder().encode(w.patch)));
  }
  if (w.warnings.length) out.warnings = w.warnings;
  return out;
}

/** The phases the plugin host serves: `POST /admission/<plugin>/<phase>`. */
export const ADMISSION_PHASES = ["validate", "mutate", "mutate-validate"] as const;
export type AdmissionPhase = typeof ADMISSION_PHASES[number];

/**
 * The AdmissionReview the plugin host answers for a phase's checked answer. Pure. For
 * `mutate-validate`, `response` is the mutating answer and `validated` (a Skiff extension of the
 * envelope) the validating answer on the same object, when the plugin gave one.
 */
export function reviewAnswer(uid: string, phase: AdmissionPhase, answer: unknown): Record<string, unknown> {
  const body: Record<string, unknown> = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" };
  if (phase !== "mutate-validate") {
    body.response = toReviewResponse(uid, answer as WitAdmissionResponse, phase === "mutate");
    return body;
  }
  const both = answer as WitMutateValidate;
  body.response = toReviewResponse(uid, both.mutate, true);
  if (both.validate) body.validated = toReviewResponse(uid, both.validate, false);
  return body;
}

const OPS = new Set(["add", "remove", "replace", "move", "copy", "test"]);

/** Checks a plugin's answer; throws MalformedResult. */
export function checkResponse(v: unknown): WitAdmissionResponse {
  const r = v as Record<string, unknown>;
  if (!r || typeof r !== "object") throw new MalformedResult("the plugin answered no admission-response");
  if (typeof r.allowed !== "boolean") throw new MalformedResult("allowed is not a boolean");
  const code = r.code as number;
  if (!r.allowed && code !== 0 && !(code >= 400 && code <= 599)) {
    throw new MalformedResult(`a denial's code must be 0 or 400–599, not ${code}`);
  }
  if (!r.allowed && typeof r.message === "string" && r.message.length > 4096) {
    throw new MalformedResult("a denial's message is longer than 4096 characters");
  }
  const patch = (r.patch ?? null) as string | null;
  if (patch !== null) {
    let ops: unknown;
    try {
      ops = JSON.parse(patch);
    } catch {
      throw new MalformedResult("the patch is not JSON");
    }
    if (!Array.isArray(ops) || ops.some((o) => !o || typeof o.path !== "string" || !OPS.has(o.op))) {
      throw new MalformedResult("the patch is not a JSON Patch (an array of {op, path, ...})");
    }
  }
  const warnings = ((r.warnings ?? []) as string[]).slice(0, 10).map((w) => w.slice(0, 256));
  return { allowed: r.allowed, message: String(r.message ?? ""), code: code ?? 0, patch, warnings };
}

/**
 * The answer of `mutate-validate`: the plugin's `mutate` answer, and its `validate` answer on the
 * same request when `mutate` allowed it without a patch (the object it validates is then the one
 * it was sent); null otherwise (the caller validates the final object later, as upstream).
 */
export interface WitMutateValidate {
  mutate: WitAdmissionResponse;
  validate: WitAdmissionResponse | null;
}

/**
 * One runner call for a mutating plugin's two phases: `mutate`, then, when it allowed without a
 * patch, `validate` of the same request (one round trip to the plugin host instead of two). The
 * caller keeps the `validate` answer only while the object stays exactly what was sent. A failure
 * of either call fails the whole call (the caller applies the failurePolicy).
 */
export function mutateValidate(p: Record<string, unknown>, req: WitAdmissionRequest): WitMutateValidate {
  const guest = guestRequest(req);
  const mutate = checkResponse((p.mutate as (r: unknown) => unknown)(guest));
  if (!mutate.allowed || mutate.patch !== null) return { mutate, validate: null };
  return { mutate, validate: checkResponse((p.validate as (r: unknown) => unknown)(guest)) };
}

/** What the runner calls on the `policy` export. */
export const admissionOps: GuestOps = {
  configure: (p, settings: string) => (p.configure as (s: string) => void)(settings),
  validate: (p, req: WitAdmissionRequest) => checkResponse((p.validate as (r: unknown) => unknown)(guestRequest(req))),
  mutate: (p, req: WitAdmissionRequest) => checkResponse((p.mutate as (r: unknown) => unknown)(guestRequest(req))),
  "mutate-validate": mutateValidate,
};

function guestRequest(req: WitAdmissionRequest): unknown {
  return { ...req, object: req.object ?? undefined, oldObject: req.oldObject ?? undefined };
}
