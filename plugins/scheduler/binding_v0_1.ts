/**
 * The scheduler binding for plugins built against `skiff:scheduler@0.1.0` (still loaded): its
 * `filter` over the cycle's nodes, then its `score` over those that passed, each lowering every
 * node view into the guest. 0.2.0 plugins keep nodes between cycles instead (binding.ts).
 * @module
 */
import type { NodeRecord, RejectionRecord } from "../../control/api/plugins.ts";
import { MalformedResult } from "../host/protocol.ts";
import { CODES, type CycleAnswer, type Phases } from "./binding_types.ts";

/** One 0.1.0 cycle on the exported `scheduling` interface `s`. */
export function cycleV01(
  s: Record<string, unknown>,
  wp: Record<string, unknown>,
  nodes: NodeRecord[],
  wn: Record<string, unknown>[],
  what: Phases,
): CycleAnswer {
  let rejected: RejectionRecord[] | undefined;
  let passing = wn.map((_, i) => i);
  if (what.filter) {
    const got = (s.filter as (p: unknown, n: unknown[]) => unknown)(wp, wn);
    if (!Array.isArray(got) || got.length !== nodes.length) {
      throw new MalformedResult(
        `filter answered ${Array.isArray(got) ? got.length : "no"} results for ${nodes.length} nodes`,
      );
    }
    rejected = [];
    got.forEach((r: { code?: string; reason?: unknown }, i) => {
      const code = CODES[r?.code ?? ""];
      if (!code) throw new MalformedResult(`filter answered an unknown code for node ${nodes[i].name}`);
      if (code !== "Success") {
        rejected!.push({ index: i, code, reason: String(r.reason ?? "").slice(0, 1024) });
      }
    });
    const out = new Set(rejected.map((r) => r.index));
    passing = passing.filter((i) => !out.has(i));
  }
  let scores: number[] | undefined;
  if (what.score) {
    scores = new Array(nodes.length).fill(0);
    if (passing.length) {
      const raw = (s.score as (p: unknown, n: unknown[]) => unknown)(wp, passing.map((i) => wn[i]));
      // jco lifts list<u32> as a Uint32Array.
      const got = ArrayBuffer.isView(raw) ? Array.from(raw as Uint32Array) : raw;
      if (!Array.isArray(got) || got.length !== passing.length) {
        throw new MalformedResult(
          `score answered ${Array.isArray(got) ? got.length : "no"} scores for ${passing.length} nodes`,
        );
      }
      got.forEach((v, j) => {
        if (!(typeof v === "number" && v >= 0 && v <= 100)) {
          throw new MalformedResult(`score ${v} for node ${nodes[passing[j]].name} is outside [0, 100]`);
        }
        scores![passing[j]] = v;
      });
    }
  }
  return { rejected, scores };
}
