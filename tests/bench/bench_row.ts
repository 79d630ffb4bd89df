/**
 * One line of the benchmark table: a figure, and the raw baseline measured in the same run.
 * @module
 */

export interface Figure {
  name: string;
  value: number;
  unit: string;
}

export interface BenchRow extends Figure {
  baseline?: Figure;
  /** value / baseline.value (or the inverse, as the row says). */
  ratio?: number;
  /** The target, in words (e.g. "≥ 0.7×", "≤ 10 ms"). */
  target?: string;
  /** Whether the target is met, when it can be judged. */
  met?: boolean;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Renders rows as a Markdown table. */
export function table(rows: BenchRow[]): string {
  const lines = [
    "| benchmark | value | baseline (same run) | ratio | target | met |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${
        r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.baseline.unit}` : "—"
      } | ${r.ratio !== undefined ? `${fmt(r.ratio)}×` : "—"} | ${r.target ?? "—"} | ${
        r.met === undefined ? "—" : r.met ? "yes" : "no"
      } |`,
    );
  }
  return lines.join("\n");
}
