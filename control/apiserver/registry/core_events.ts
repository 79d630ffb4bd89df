/**
 * core/v1 `events`: upstream's legacy event validation, `printEvent` (shared with
 * events.k8s.io) and the event field selectors.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef, TableColumn } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { since } from "./duration.ts";
import { isDNS1123Subdomain, isQualifiedName } from "./names.ts";
import { column, NAME_DESCRIPTION } from "./table.ts";

type Obj = Record<string, any>;

/** The fields of a core/v1 Event that `printEvent` reads (events.k8s.io events map onto it). */
export interface CoreEventView {
  name: string;
  involvedObject: Obj;
  reason?: string;
  message?: string;
  type?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  count?: number;
  series?: { count?: number; lastObservedTime?: string };
}

/** The Event table columns: LAST SEEN TYPE REASON OBJECT MESSAGE, plus five wide ones. */
export const eventColumns: TableColumn[] = [
  column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
  column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
  column(
    "Reason",
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  column("Object", "The object that this event is about."),
  column(
    "Subobject",
    "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
    { wide: true },
  ),
  column("Source", "The component reporting this event. Should be a short machine understandable string.", {
    wide: true,
  }),
  column("Message", "A human-readable description of the status of this operation."),
  column(
    "First Seen",
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    { wide: true },
  ),
  column("Count", "The number of times this event has occurred.", { wide: true }),
  { name: "Name", type: "string", format: "name", description: NAME_DESCRIPTION, priority: 1 },
];

/** `printEvent`'s cells. */
export function eventCells(ev: CoreEventView, now: number): unknown[] {
  const first = ev.firstTimestamp ? since(ev.firstTimestamp, now) : since(ev.eventTime, now);
  let last = ev.lastTimestamp ? since(ev.lastTimestamp, now) : first;
  let count = ev.count ?? 0;
  if (ev.series) {
    last = since(ev.series.lastObservedTime, now);
    count = ev.series.count ?? 0;
  } else if (count === 0) count = 1;
  const kind = String(ev.involvedObject?.kind ?? "").toLowerCase();
  const target = ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
  const component = ev.source?.component || ev.reportingComponent || "";
  const instance = ev.source?.host || ev.reportingInstance || "";
  return [
    last,
    ev.type ?? "",
    ev.reason ?? "",
    target,
    ev.involvedObject?.fieldPath ?? "",
    instance ? `${component}, ${instance}` : component,
    (ev.message ?? "").trim(),
    first,
    count,
    ev.name,
  ];
}

/** Upstream's `legacyValidateEvent` (core/v1 events are validated leniently). */
export function validateCoreEvent(obj: KubeObject): StatusCause[] {
  const errs: StatusCause[] = [];
  const ns = obj.metadata?.namespace ?? "";
  const involvedNs = obj.involvedObject?.namespace ?? "";
  if (!obj.metadata?.name) {
    errs.push(fieldError.required("metadata.name", "name or generateName is required"));
  }
  if (!obj.eventTime) {
    if (!involvedNs ? ns !== "" && ns !== "default" : ns !== involvedNs) {
      errs.push(fieldError.invalid("involvedObject.namespace", involvedNs, "does not match event.namespace"));
    }
  } else {
    if (!involvedNs && ns !== "default" && ns !== "kube-system") {
      errs.push(fieldError.invalid("involvedObject.namespace", involvedNs, "does not match event.namespace"));
    }
    const controller = obj.reportingComponent ?? "";
    if (!controller) errs.push(fieldError.required("reportingComponent"));
    for (const msg of isQualifiedName(controller)) {
      errs.push(fieldError.invalid("reportingComponent", controller, msg));
    }
    const instance = obj.reportingInstance ?? "";
    if (!instance) errs.push(fieldError.required("reportingInstance"));
    if (instance.length > 128) {
      errs.push(fieldError.invalid("reportingInstance", "", "can have at most 128 characters"));
    }
    const action = obj.action ?? "";
    if (!action) errs.push(fieldError.required("action"));
    if (action.length > 128) errs.push(fieldError.invalid("action", "", "can have at most 128 characters"));
    const reason = obj.reason ?? "";
    if (!reason) errs.push(fieldError.required("reason"));
    if (reason.length > 128) errs.push(fieldError.invalid("reason", "", "can have at most 128 characters"));
    if ((obj.message ?? "").length > 1024) {
      errs.push(fieldError.invalid("message", "", "can have at most 1024 characters"));
    }
  }
  for (const msg of isDNS1123Subdomain(ns)) errs.push(fieldError.invalid("namespace", ns, msg));
  return errs;
}

/** core/v1 Events. */
export const coreEvents: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Event",
  listKind: "EventList",
  plural: "events",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  schema: "CoreV1Event",
  validate: validateCoreEvent,
  table: {
    columns: eventColumns,
    cells: (obj, now) =>
      eventCells({ ...(obj as Obj), name: obj.metadata?.name ?? "" } as CoreEventView, now),
  },
  fields: (obj) => ({
    "involvedObject.kind": obj.involvedObject?.kind ?? "",
    "involvedObject.namespace": obj.involvedObject?.namespace ?? "",
    "involvedObject.name": obj.involvedObject?.name ?? "",
    "involvedObject.uid": obj.involvedObject?.uid ?? "",
    "involvedObject.apiVersion": obj.involvedObject?.apiVersion ?? "",
    "involvedObject.resourceVersion": obj.involvedObject?.resourceVersion ?? "",
    "involvedObject.fieldPath": obj.involvedObject?.fieldPath ?? "",
    reason: obj.reason ?? "",
    reportingComponent: obj.reportingComponent ?? "",
    source: obj.source?.component ?? "",
    type: obj.type ?? "",
  }),
};
