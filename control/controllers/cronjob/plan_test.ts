import assert from "node:assert/strict";
import { parseSchedule } from "../../api/cron/cron.ts";
import {
  decide,
  jobFromTemplate,
  jobName,
  jobsBeyondHistory,
  reconcileActive,
  rfc1123z,
  rfc3339In,
} from "./plan.ts";

const at = (iso: string) => Date.parse(iso);
const cron = (spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}) => ({
  metadata: {
    name: "report",
    namespace: "default",
    uid: "cj-uid",
    creationTimestamp: "2025-01-01T00:00:00Z",
  },
  spec: {
    schedule: "*/5 * * * *",
    concurrencyPolicy: "Allow",
    jobTemplate: {
      metadata: { labels: { team: "a" } },
      spec: { template: { spec: { restartPolicy: "Never" } } },
    },
    ...spec,
  },
  status,
});
const every5 = parseSchedule("*/5 * * * *", "UTC");
const job = (
  name: string,
  uid: string,
  o: { finished?: "Complete" | "Failed"; start?: string; completion?: string } = {},
) => ({
  metadata: { name, namespace: "default", uid },
  status: {
    ...(o.start ? { startTime: o.start } : {}),
    ...(o.completion ? { completionTime: o.completion } : {}),
    ...(o.finished ? { conditions: [{ type: o.finished, status: "True" }] } : {}),
  },
});

Deno.test("jobName() is <cronjob>-<scheduled minutes since the epoch>", () => {
  assert.equal(jobName(cron(), at("2025-01-01T00:05:00Z")), `report-${at("2025-01-01T00:05:00Z") / 60_000}`);
});

Deno.test("jobFromTemplate() copies the template, owns the Job and stamps the scheduled time", () => {
  const j = jobFromTemplate(cron(), at("2025-01-01T00:05:00Z"), "Europe/Berlin");
  assert.deepEqual(j.metadata.labels, { team: "a" });
  assert.equal(
    j.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
    "2025-01-01T01:05:00+01:00",
  );
  assert.equal(j.metadata.ownerReferences?.[0].kind, "CronJob");
  assert.equal(j.spec.template.spec.restartPolicy, "Never");
  assert.equal(rfc3339In(at("2025-01-01T00:05:00Z"), "UTC"), "2025-01-01T00:05:00Z");
});

Deno.test("decide() starts the Job due now, once", () => {
  const d = decide(cron(), at("2025-01-01T00:06:00Z"), every5);
  assert.equal(d.kind, "start");
  assert.equal(d.kind === "start" && d.scheduledTime, at("2025-01-01T00:05:00Z"));
  const again = decide(
    cron({}, { lastScheduleTime: "2025-01-01T00:05:00Z" }),
    at("2025-01-01T00:06:00Z"),
    every5,
  );
  assert.equal(again.kind, "wait");
  assert.equal(again.requeueAfterMs, 4 * 60_000 + 100);
});

Deno.test("decide() does not start a schedule time older than startingDeadlineSeconds", () => {
  const late = decide(
    cron({ startingDeadlineSeconds: 30 }, { lastScheduleTime: "2025-01-01T00:00:00Z" }),
    at("2025-01-01T00:06:00Z"),
    every5,
  );
  assert.equal(late.kind, "wait");
  assert.equal(late.requeueAfterMs, 4 * 60_000 + 100);
  const inTime = decide(
    cron({ startingDeadlineSeconds: 90 }, { lastScheduleTime: "2025-01-01T00:00:00Z" }),
    at("2025-01-01T00:06:00Z"),
    every5,
  );
  assert.equal(inTime.kind, "start");
});

Deno.test("decide() honours Forbid and Replace with active Jobs", () => {
  const active = { active: [{ kind: "Job", name: "report-1", namespace: "default", uid: "j1" }] };
  const forbid = decide(cron({ concurrencyPolicy: "Forbid" }, active), at("2025-01-01T00:06:00Z"), every5);
  assert.equal(forbid.kind, "wait");
  assert.equal(forbid.events[0].reason, "JobAlreadyActive");
  const replace = decide(cron({ concurrencyPolicy: "Replace" }, active), at("2025-01-01T00:06:00Z"), every5);
  assert.equal(replace.kind === "start" && replace.replace, true);
  assert.equal(decide(cron({ suspend: true }), at("2025-01-01T00:06:00Z"), every5).kind, "wait");
});

Deno.test("decide() warns about too many missed start times", () => {
  const d = decide(cron(), at("2025-01-02T00:01:00Z"), every5);
  assert.equal(d.events[0].reason, "TooManyMissedTimes");
  assert.equal(d.kind, "start");
});

Deno.test("reconcileActive() drops finished Jobs from the active list and tracks the last success", () => {
  const cj = cron({}, {
    active: [{ name: "a", uid: "a" }, { name: "b", uid: "b" }, { name: "gone", uid: "gone" }],
  });
  const r = reconcileActive(cj, [
    job("a", "a", { finished: "Complete", completion: "2025-01-01T00:07:00Z" }),
    job("b", "b"),
    job("stray", "s"),
  ]);
  assert.deepEqual(r.status.active.map((x: { name: string }) => x.name), ["b", "gone"]);
  assert.deepEqual(r.events.map((e) => e.reason), ["SawCompletedJob", "UnexpectedJob"]);
  assert.equal(r.events[0].message, "Saw completed job: a, condition: Complete");
  assert.deepEqual(r.missing.map((x: { name: string }) => x.name), ["gone"]);
  const later = reconcileActive(cron({}, {}), [
    job("a", "a", { finished: "Complete", completion: "2025-01-01T00:07:00Z" }),
  ]);
  assert.equal(later.status.lastSuccessfulTime, "2025-01-01T00:07:00Z");
});

Deno.test("jobsBeyondHistory() removes the oldest finished Jobs beyond each limit", () => {
  const jobs = [
    job("s1", "1", { finished: "Complete", start: "2025-01-01T00:00:00Z" }),
    job("s2", "2", { finished: "Complete", start: "2025-01-01T00:05:00Z" }),
    job("f1", "3", { finished: "Failed", start: "2025-01-01T00:01:00Z" }),
    job("f2", "4", { finished: "Failed", start: "2025-01-01T00:06:00Z" }),
    job("run", "5", { start: "2025-01-01T00:07:00Z" }),
  ];
  const cj = cron({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 });
  assert.deepEqual(jobsBeyondHistory(cj, jobs).map((j) => j.metadata.name), ["s1", "f1", "f2"]);
});

Deno.test("rfc1123z() formats as Go's time.RFC1123Z in UTC", () => {
  assert.equal(rfc1123z(at("2025-03-09T07:05:09Z")), "Sun, 09 Mar 2025 07:05:09 +0000");
});
