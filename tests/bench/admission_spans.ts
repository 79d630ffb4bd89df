/**
 * The admission benchmark's direct measure of what a plugin adds: the API server's own spans of
 * the WasmPlugins step, per request (control/apiserver/admission/admission_duration.ts), gathered
 * in the API server's process and read by the bench after it stops.
 *
 * - `webhook`: `apiserver_admission_webhook_admission_duration_seconds`, one entry per plugin
 *   call, by `<namespace> <plugin> <type>`;
 * - `step`: `apiserver_admission_controller_admission_duration_seconds` of the step's `admit` and
 *   `validate` phases added up per request, by namespace (in a namespace no plugin applies to,
 *   that is the step's own cost: listing the Plugin cache and matching).
 *
 * Only writes whose name starts with `prefix` count (the timed creates, not the warm-up).
 * @module
 */
import {
  type AdmissionDuration,
  CONTROLLER_DURATION,
  WEBHOOK_DURATION,
} from "../../control/apiserver/admission/admission_duration.ts";
import type { AdmissionAttributes } from "../../control/apiserver/context.ts";
import { type BenchRow, type Figure, percentile } from "./bench_row.ts";

/** The spans of one run, ms. */
export interface SpanTable {
  webhook: Record<string, number[]>;
  step: Record<string, number[]>;
}

/** Collects spans in the API server's process; `save()` writes them as JSON. */
export class AdmissionSpans {
  readonly #prefix: string;
  readonly #admitMs = new WeakMap<AdmissionAttributes, number>();
  readonly table: SpanTable = { webhook: {}, step: {} };

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The `observe` callback of `WasmAdmissionOptions`. */
  readonly observe = (o: AdmissionDuration, attrs: AdmissionAttributes): void => {
    if (!attrs.name.startsWith(this.#prefix)) return;
    const ms = o.seconds * 1000;
    if (o.metric === WEBHOOK_DURATION) {
      (this.table.webhook[`${attrs.namespace} ${o.name} ${o.type}`] ??= []).push(ms);
    } else if (o.type === "admit") {
      this.#admitMs.set(attrs, ms);
    } else {
      // The validate phase ends the step for this write.
      (this.table.step[attrs.namespace] ??= []).push((this.#admitMs.get(attrs) ?? 0) + ms);
      this.#admitMs.delete(attrs);
    }
  };

  save(path: string): void {
    Deno.writeTextFileSync(path, JSON.stringify(this.table));
  }
}

/** Reads what {@linkcode AdmissionSpans.save} wrote. */
export function readSpans(path: string): SpanTable {
  return JSON.parse(Deno.readTextFileSync(path)) as SpanTable;
}

const pct = (v: number[] | undefined, p: number) => percentile(v ?? [], p);

/**
 * The benchmark rows of one run's spans: per arm (namespace), the plugin call as the API server
 * times it and the step per create, next to the step in the namespace no plugin applies to.
 */
export function spanRows(
  t: SpanTable,
  arms: { validating: string; mutating: string; two: string; plain: string },
): BenchRow[] {
  const plain = t.step[arms.plain];
  const base = (p: number): Figure => ({
    name: `the step without a plugin that applies, p${p}`,
    value: pct(plain, p),
    unit: "ms",
  });
  const call = (key: string, what: string): BenchRow[] => {
    const v = t.webhook[key];
    const [p50, p99] = [pct(v, 50), pct(v, 99)];
    return [{
      name: `admission: ${WEBHOOK_DURATION} {${key.split(" ").slice(1).join(", ")}}, ${what}, p99 of ${
        v?.length ?? 0
      }`,
      value: p99,
      unit: "ms",
      baseline: { name: "p50", value: p50, unit: "ms" },
      target: "≤ 1 ms",
      met: p99 <= 1,
    }];
  };
  const step = (ns: string, what: string): BenchRow[] =>
    [50, 99].map((p) => ({
      name:
        `admission: ${CONTROLLER_DURATION} {WasmPlugins, admit + validate} per create, ${what}, p${p} added`,
      value: pct(t.step[ns], p) - pct(plain, p),
      unit: "ms",
      baseline: base(p),
      ...(p === 99 ? { target: "≤ 1 ms", met: pct(t.step[ns], p) - pct(plain, p) <= 1 } : {}),
    }));
  return [
    ...call(`${arms.validating} disallow-latest validating`, "one validating plugin"),
    ...call(`${arms.mutating} stamp admit`, "one mutating plugin (mutate-validate, one call)"),
    ...step(arms.validating, "one validating plugin"),
    ...step(arms.mutating, "one mutating plugin"),
    ...step(arms.two, "two validating plugins (at once)"),
  ];
}
