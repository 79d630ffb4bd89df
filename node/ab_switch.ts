/**
 * The node's A/B switches: `SKIFF_*` environment variables that turn one optimization off (or
 * on) for a benchmark's comparison, each documented where it acts. Read without throwing: a
 * process without env permission (a test, a plugin runner) gets `undefined`, the default.
 *
 * @example
 * ```ts ignore
 * const syncPipe = abSwitch("SKIFF_CONMON_SYNC_PIPE") !== "0";
 * ```
 * @module
 */

/** The switch's value, or undefined when unset or unreadable. */
export function abSwitch(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
