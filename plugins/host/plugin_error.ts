/**
 * A plugin's error variant (`result::err` of a WIT export, e.g. `not-found`) as it reaches the
 * caller: the runner words it `the plugin returned an error: <tag>: <message>` (runner.ts), and
 * a host call made on the plugin's behalf throws a {@linkcode HostCallError} holding the variant.
 * Callers that act on the variant read it here instead of matching the text themselves. Pure.
 * @module
 */
import { HostCallError } from "./runner_client.ts";

const WORDED = /^the plugin returned an error: ([a-z-]+): ([\s\S]*)$/;

/** The variant `e` carries: its tag and its message (the variant's string); undefined for none. */
export function errorVariant(e: unknown): { tag: string; message: string } | undefined {
  if (e instanceof HostCallError) {
    const v = e.variant;
    return v && typeof v.val === "string" ? { tag: v.tag, message: v.val } : undefined;
  }
  const m = WORDED.exec(e instanceof Error ? e.message : String(e));
  return m ? { tag: m[1], message: m[2] } : undefined;
}
