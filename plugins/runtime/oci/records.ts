/**
 * The OCI runtime's vocabulary shared by the node and the `crun` runtime Plugin (which bundles
 * this file): the runtime's name and handler, the terminated reason of an exit, and stop signals.
 * Pure.
 * @module
 */

export const RUNTIME_NAME = "crun";
export const HANDLER = "oci";

/** The terminated reason of an exit: `OOMKilled` when the kernel killed for memory, else as upstream. */
export function exitReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return "OOMKilled";
  return exitCode === 0 ? "Completed" : "Error";
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGWINCH: 28,
};

/** A StopSignal as crun takes it (`SIGTERM`, `TERM`, `15`); SIGTERM when unknown. */
export function normalizeSignal(s: string | undefined): string {
  if (!s) return "SIGTERM";
  const up = s.toUpperCase();
  if (/^\d+$/.test(up)) return Object.entries(SIGNALS).find(([, n]) => n === Number(up))?.[0] ?? "SIGTERM";
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  return SIGNALS[name] ? name : "SIGTERM";
}
