/**
 * What both versions of the scheduler binding share: a cycle's phases, its answer, and the
 * WIT `code` enum as upstream framework Status codes. Pure.
 * @module
 */
import type { FilterRecord, RejectionRecord } from "../../control/api/plugins.ts";

/** What a cycle asks of a plugin (WIT 0.2.0 `phases`). */
export interface Phases {
  filter: boolean;
  score: boolean;
}

/**
 * A plugin's answer to one cycle, as the plugin host relays it: `rejected` (when asked to
 * filter: the nodes the filter rejected, by index; the others passed) and `scores` (when asked
 * to score: one per node of the cycle, in order; 0 for a rejected node).
 */
export interface CycleAnswer {
  rejected?: RejectionRecord[];
  scores?: number[];
}

/** WIT `code` (kebab-case, as jco lifts enums) → upstream Status code. */
export const CODES: Record<string, FilterRecord["code"]> = {
  "success": "Success",
  "unschedulable": "Unschedulable",
  "unschedulable-and-unresolvable": "UnschedulableAndUnresolvable",
};
