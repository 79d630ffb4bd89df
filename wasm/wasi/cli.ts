/**
 * `wasi:cli` for one instance: its own environment, arguments and working directory, stdout and
 * stderr into the container's sinks, a closed stdin, no terminal, and an `exit` that ends only
 * this guest (it throws {@linkcode GuestExit}; nothing here can end the process).
 * @module
 */
import { ByteQueue, type ByteSink, InputStream, OutputStream } from "./io.ts";

/** Thrown by `wasi:cli/exit`: unwinds the guest with its exit code. */
export class GuestExit extends Error {
  readonly code: number;

  constructor(code: number) {
    super(`The guest exited with code ${code}`);
    this.name = "GuestExit";
    this.code = code;
  }
}

/** What `wasi:cli` gives one instance. */
export interface CliConfig {
  env: readonly (readonly [string, string])[];
  args: readonly string[];
  cwd?: string;
  stdout: ByteSink;
  stderr: ByteSink;
  signal?: AbortSignal;
}

class TerminalInput {}
class TerminalOutput {}

/** The `wasi:cli/*` imports of one instance. */
export function cliImports(config: CliConfig) {
  const env = config.env.map(([k, v]) => [k, v] as [string, string]);
  const args = [...config.args];
  const stdin = new ByteQueue();
  stdin.end();
  return {
    "wasi:cli/environment": {
      getEnvironment: () => env.map(([k, v]) => [k, v]),
      getArguments: () => [...args],
      initialCwd: () => config.cwd,
    },
    "wasi:cli/exit": {
      exit(status: { tag: "ok" | "err" }): never {
        throw new GuestExit(status.tag === "err" ? 1 : 0);
      },
      exitWithCode(code: number): never {
        throw new GuestExit(code);
      },
    },
    "wasi:cli/stdin": { getStdin: () => new InputStream(stdin, config.signal) },
    "wasi:cli/stdout": { getStdout: () => new OutputStream(config.stdout, config.signal) },
    "wasi:cli/stderr": { getStderr: () => new OutputStream(config.stderr, config.signal) },
    "wasi:cli/terminal-input": { TerminalInput },
    "wasi:cli/terminal-output": { TerminalOutput },
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
  };
}
