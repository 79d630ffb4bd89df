/**
 * events.k8s.io/v1 `events`: upstream's strict event validation and the same table as core
 * events (`printEvent` runs on the converted core form).
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type CoreEventView, eventCells, eventColumns, validateCoreEvent } from "./core_events.ts";
import { validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";

/** Maps an events.k8s.io/v1 Event onto the core/v1 fields the table reads. */
export function coreEventView(ev: KubeObject): CoreEventView {
  return {
    name: ev.metadata?.name ?? "",
    involvedObject: ev.regarding ?? {},
    reason: ev.reason,
    message: ev.note,
    type: ev.type,
    source: ev.deprecatedSource,
    reportingComponent: ev.reportingController,
    reportingInstance: ev.reportingInstance,
    firstTimestamp: ev.deprecatedFirstTimestamp,
    lastTimestamp: ev.deprecatedLastTimestamp,
    eventTime: ev.eventTime,
    count: ev.deprecatedCount,
    series: ev.series,
  };
}

/** `ValidateEventCreate` for events.k8s.io/v1, reported with the core field names upstream uses. */
export function validateEventsV1(obj: KubeObject): StatusCause[] {
  const view: Record<string, any> = {
    metadata: obj.metadata,
    involvedObject: obj.regarding ?? {},
    eventTime: obj.eventTime,
    reportingComponent: obj.reportingController,
    reportingInstance: obj.reportingInstance,
    action: obj.action,
    reason: obj.reason,
    message: obj.note,
  };
  const errs = validateCoreEvent(view as KubeObject).map((c) =>
    c.field === "reportingComponent" ? { ...c, field: "reportingController" } : c
  ).filter((c) => c.field !== "metadata.name");
  errs.push(...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }));
  if (obj.series) {
    if ((obj.series.count ?? 0) < 2) {
      errs.push(fieldError.invalid("series.count", "", "should be at least 2"));
    }
    if (!obj.series.lastObservedTime) errs.push(fieldError.required("series.lastObservedTime"));
  }
  if (!obj.eventTime) errs.push(fieldError.required("eventTime"));
  if (obj.type !== "Normal" && obj.type !== "Warning") {
    errs.push(fieldError.invalid("type", "", `has invalid value: ${obj.type ?? ""}`));
  }
  if (obj.deprecatedFirstTimestamp) errs.push(fieldError.invalid("firstTimestamp", "", "needs to be unset"));
  if (obj.deprecatedLastTimestamp) errs.push(fieldError.invalid("lastTimestamp", "", "needs to be unset"));
  if (obj.deprecatedCount) errs.push(fieldError.invalid("count", "", "needs to be unset"));
  if (obj.deprecatedSource?.component || obj.deprecatedSource?.host) {
    errs.push(fieldError.invalid("source", "", "needs to be unset"));
  }
  return errs;
}

/** events.k8s.io/v1 Events. */
export const eventsV1: ResourceDef = {
  group: "events.k8s.io",
  version: "v1",
  kind: "Event",
  listKind: "EventList",
  plural: "events",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  schema: "EventsV1Event",
  validate: validateEventsV1,
  table: { columns: eventColumns, cells: (obj, now) => eventCells(coreEventView(obj), now) },
  fields: (obj) => ({
    "regarding.kind": obj.regarding?.kind ?? "",
    "regarding.namespace": obj.regarding?.namespace ?? "",
    "regarding.name": obj.regarding?.name ?? "",
    "regarding.uid": obj.regarding?.uid ?? "",
    "regarding.apiVersion": obj.regarding?.apiVersion ?? "",
    "regarding.resourceVersion": obj.regarding?.resourceVersion ?? "",
    "regarding.fieldPath": obj.regarding?.fieldPath ?? "",
    reason: obj.reason ?? "",
    reportingController: obj.reportingController ?? "",
    type: obj.type ?? "",
  }),
};
