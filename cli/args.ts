/**
 * The command table's vocabulary and the flag parser: pure, no I/O.
 *
 * A command is one file exporting a {@linkcode Command}; `cli/commands.ts` lists them. The parser
 * turns `argv` into the command, its flags (defaults filled in) and its arguments, or into one
 * usage-error line.
 * @module
 */

/** One `--flag` of a command. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `data-dir`; parsed values are keyed by it. */
  name: string;
  /** `boolean` flags take no value; `number` flags take a non-negative integer. */
  type: "string" | "number" | "boolean";
  /** Placeholder in help, e.g. `DIR`. */
  value?: string;
  /** Filled in when the flag is absent (booleans default to `false`). */
  default?: string | number;
  /** Inclusive upper bound of a `number` flag. */
  max?: number;
  /** One sentence for help. */
  description: string;
}

/** Parsed flag values, keyed by {@linkcode FlagSpec.name}. */
export type Flags = Record<string, string | number | boolean | undefined>;

/** What a command's `run` receives. */
export interface CommandContext {
  /** Absolute path of the repository (the folder holding the `skiff` launcher). */
  root: string;
  /** The caller's working directory: relative flags such as `--data-dir` resolve against it. */
  cwd: string;
  flags: Flags;
  /** Positional arguments (or, for pass-through commands, everything not parsed as our flag). */
  args: string[];
  /** The whole command table (for `help`). */
  commands: readonly Command[];
}

/** One entry of the command table. */
export interface Command {
  name: string;
  /** One line for `./skiff help`. */
  summary: string;
  /** Longer text for `./skiff <name> --help`. */
  description?: string;
  /** Help synopsis after `./skiff <name>`, e.g. `[PATH...] [DENO TEST FLAGS...]`. */
  usage?: string;
  flags: FlagSpec[];
  /**
   * `none`: positional arguments are an error. `positional`: collected into `args`.
   * `passthrough`: unknown flags and arguments are collected into `args` unchanged.
   */
  args: "none" | "positional" | "passthrough";
  /** Debian packages the command needs; installed (as root) before `run`. */
  packages: string[];
  /** Hidden from `./skiff help` (internal or not yet documented). */
  hidden?: boolean;
  /** Runs the command; resolves to the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** A successful parse. */
export interface Invocation {
  kind: "run";
  command: Command;
  flags: Flags;
  args: string[];
}

/** `--help`/`-h` was given (for `command`, or for the whole CLI when absent). */
export interface HelpRequest {
  kind: "help";
  command?: Command;
}

/** A usage error: print `message` (one line) and exit 2. */
export interface UsageError {
  kind: "error";
  message: string;
}

/** Parses `argv` (without the program name) against `table`. */
export function parseArgs(argv: string[], table: readonly Command[]): Invocation | HelpRequest | UsageError {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") return { kind: "help" };
  const name = first === "--version" ? "version" : first;
  // A two-word command (`node join`) is found by both words, or by its hyphenated name.
  const action = rest[0] !== undefined && !rest[0].startsWith("-")
    ? table.find((c) => c.name === `${name} ${rest[0]}`)
    : undefined;
  if (action) return parseCommandArgs(action, rest.slice(1));
  const command = table.find((c) => c.name === name || c.name === name.replace("-", " "));
  if (!command) {
    const what = first.startsWith("-") ? `unknown flag ${first}` : `unknown command "${first}"`;
    return usageError(`${what}; see ./skiff help`);
  }
  return parseCommandArgs(command, rest);
}

/** Parses the arguments after the command name. */
export function parseCommandArgs(command: Command, argv: string[]): Invocation | HelpRequest | UsageError {
  const flags: Flags = {};
  for (const spec of command.flags) flags[spec.name] = spec.type === "boolean" ? false : spec.default;
  const args: string[] = [];
  const of = ` for "${command.name}"`;
  const fail = (what: string) => usageError(`${what}; see ./skiff ${command.name} --help`);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      if (command.args === "none" && i + 1 < argv.length) {
        return fail(`unexpected argument "${argv[i + 1]}"${of}`);
      }
      args.push(...(command.args === "passthrough" ? argv.slice(i) : argv.slice(i + 1)));
      break;
    }
    if (arg === "--help" || arg === "-h") return { kind: "help", command };
    if (!arg.startsWith("-") || arg === "-") {
      if (command.args === "none") return fail(`unexpected argument "${arg}"${of}`);
      args.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flagName = arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : "";
    const spec = command.flags.find((f) => f.name === flagName);
    if (!spec) {
      if (command.args === "passthrough") {
        args.push(arg);
        continue;
      }
      return fail(`unknown flag ${eq < 0 ? arg : arg.slice(0, eq)}${of}`);
    }
    if (spec.type === "boolean") {
      if (eq >= 0) return fail(`flag --${spec.name}${of} takes no value`);
      flags[spec.name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) {
      raw = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
      raw = argv[++i];
    } else {
      return fail(`flag --${spec.name}${of} needs a value`);
    }
    if (spec.type === "number") {
      const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || (spec.max !== undefined && n > spec.max)) {
        const range = spec.max === undefined ? "a non-negative integer" : `an integer from 0 to ${spec.max}`;
        return fail(`flag --${spec.name}${of} needs ${range}, got "${raw}"`);
      }
      flags[spec.name] = n;
    } else {
      if (raw === "") return fail(`flag --${spec.name}${of} needs a value`);
      flags[spec.name] = raw;
    }
  }
  return { kind: "run", command, flags, args };
}

function usageError(message: string): UsageError {
  return { kind: "error", message: `skiff: ${message}` };
}
