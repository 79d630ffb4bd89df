import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { cronJobs, jobs } from "./batch.ts";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const create = { operation: "CREATE" as const };
const UID = "1d6f6f3e-0000-4000-8000-000000000001";

function job(spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: "pi", namespace: "default", uid: UID },
    spec: {
      template: { spec: { containers: [{ name: "pi", image: "perl" }], restartPolicy: "Never" } },
      ...spec,
    },
  };
}

const messages = (errs: { field?: string; message?: string }[]) =>
  errs.map((c) => `${c.field}: ${c.message}`);

Deno.test("jobs.defaults() generates the selector and labels from the uid on create", () => {
  const j = job();
  jobs.defaults!(j, create);
  const labels = {
    "batch.kubernetes.io/controller-uid": UID,
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": UID,
    "job-name": "pi",
  };
  assert.deepEqual(j.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": UID } });
  assert.deepEqual(j.spec.template.metadata.labels, labels);
  assert.deepEqual(j.metadata.labels, labels);
  assert.equal(j.spec.completions, 1);
  assert.equal(j.spec.parallelism, 1);
  assert.equal(j.spec.backoffLimit, 6);
  assert.equal(j.spec.completionMode, "NonIndexed");
  assert.equal(j.spec.suspend, false);
  assert.equal(j.spec.podReplacementPolicy, "TerminatingOrFailed");
  assert.deepEqual(jobs.validate!(j), []);
});

Deno.test("jobs.validate() requires restartPolicy OnFailure or Never", () => {
  const j = job();
  delete j.spec.template.spec.restartPolicy;
  jobs.defaults!(j, create);
  assert.deepEqual(messages(jobs.validate!(j)), [
    'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
  ]);
});

Deno.test("jobs.validate() rejects a hand-written selector without manualSelector", () => {
  const j = job({ selector: { matchLabels: { app: "pi" } } });
  j.spec.template.metadata = { labels: { app: "pi" } };
  jobs.defaults!(j, create);
  const errs = messages(jobs.validate!(j));
  assert.equal(errs.length, 1);
  assert.match(
    errs[0],
    /^spec\.selector: Invalid value: v1\.LabelSelector\{.*\}: `selector` not auto-generated$/,
  );
});

Deno.test("jobs.validate() keeps the pod template immutable on update", () => {
  const old = job();
  jobs.defaults!(old, create);
  const next = structuredClone(old);
  next.spec.template.spec.containers[0].image = "perl:2";
  const errs = jobs.validate!(next, old);
  assert.deepEqual(errs.map((e) => e.field), ["spec.template"]);
  assert.match(errs[0].message!, /field is immutable$/);
});

Deno.test("jobs.table shows STATUS, COMPLETIONS and DURATION", () => {
  const j = job();
  jobs.defaults!(j, create);
  j.metadata.creationTimestamp = new Date(NOW - 120_000).toISOString();
  j.status = {
    succeeded: 1,
    startTime: new Date(NOW - 120_000).toISOString(),
    completionTime: new Date(NOW - 110_000).toISOString(),
    conditions: [{ type: "Complete", status: "True" }],
  };
  const cells = jobs.table!.cells(j, NOW);
  assert.deepEqual(cells.slice(0, 5), ["pi", "Complete", "1/1", "10s", "2m"]);
  assert.equal(cells[7], `batch.kubernetes.io/controller-uid=${UID}`);
  assert.deepEqual(jobs.fields!(j), { "status.successful": "1" });
});

Deno.test("cronJobs defaults and validates a schedule", () => {
  const cj: KubeObject = {
    metadata: { name: "hello", namespace: "default" },
    spec: {
      schedule: "*/1 * * * *",
      jobTemplate: {
        spec: {
          template: { spec: { containers: [{ name: "c", image: "busybox" }], restartPolicy: "OnFailure" } },
        },
      },
    },
  };
  cronJobs.defaults!(cj, create);
  assert.equal(cj.spec.concurrencyPolicy, "Allow");
  assert.equal(cj.spec.suspend, false);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.deepEqual(cronJobs.validate!(cj), []);
  cj.spec.schedule = "every minute";
  assert.deepEqual(messages(cronJobs.validate!(cj)), [
    'spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]',
  ]);
  assert.deepEqual(cronJobs.table!.cells(cj, NOW).slice(0, 6), [
    "hello",
    "every minute",
    "<none>",
    "False",
    0,
    "<none>",
  ]);
});
