/**
 * User-facing failures: a one-line message and an exit code, never a stack trace.
 * @module
 */

/** Thrown by a command for an expected failure; `main.ts` prints `skiff: <message>` and exits. */
export class CliError extends Error {
  /** Process exit code: 1 for failures, 2 for usage errors. */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
