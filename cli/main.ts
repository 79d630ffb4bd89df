/**
 * The `skiff` CLI: `./skiff <command> [flags]`. The `skiff` launcher runs this file with Deno.
 *
 * Parses the command line against the command table, installs the Debian packages the command
 * declares, runs it, and exits with its code. User errors print one line (`skiff: ...`) and exit
 * 1, or 2 for usage errors; only bugs print a stack trace.
 * @module
 */
import { type Command, type CommandContext, parseArgs } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { CliError } from "./errors.ts";
import { formatCommandHelp, formatHelp } from "./help.ts";
import { ensureDebianPackages } from "./install.ts";

/** The repository root: `SKIFF_ROOT` when the launcher set it, else this file's parent folder. */
export function repoRoot(): string {
  return Deno.env.get("SKIFF_ROOT") ??
    decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
}

/** Runs the CLI for `argv`; resolves to the exit code. */
export async function main(argv: string[], commands: readonly Command[] = COMMANDS): Promise<number> {
  const parsed = parseArgs(argv, commands);
  if (parsed.kind === "error") {
    console.error(parsed.message);
    return 2;
  }
  if (parsed.kind === "help") {
    console.log((parsed.command ? formatCommandHelp(parsed.command) : formatHelp(commands)).trimEnd());
    return 0;
  }
  const ctx: CommandContext = {
    root: repoRoot(),
    cwd: Deno.cwd(),
    flags: parsed.flags,
    args: parsed.args,
    commands,
  };
  try {
    await ensureDebianPackages(parsed.command.packages);
    return await parsed.command.run(ctx);
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`skiff: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
