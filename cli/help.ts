/**
 * `./skiff help [COMMAND]` and the help text of every command, generated from the command table.
 * @module
 */
import type { Command, FlagSpec } from "./args.ts";
import { CliError } from "./errors.ts";

/** Help for the whole CLI: every visible command with its flags. */
export function formatHelp(commands: readonly Command[]): string {
  const lines = [
    "skiff: a Kubernetes-compatible orchestrator for WebAssembly components and OCI containers.",
    "",
    "Usage: ./skiff <command> [flags]",
    "",
    "Commands:",
  ];
  for (const c of commands.filter((c) => !c.hidden)) {
    lines.push(`  ${synopsis(c)}`, `      ${c.summary}`);
    for (const row of flagRows(c.flags)) lines.push(`      ${row}`);
  }
  lines.push("", "Run ./skiff <command> --help for details on one command.");
  return lines.join("\n") + "\n";
}

/** Help for one command: synopsis, description, flags and the Debian packages it needs. */
export function formatCommandHelp(command: Command): string {
  const lines = [`Usage: ./skiff ${synopsis(command)}`, "", command.summary];
  if (command.description) lines.push("", command.description);
  lines.push("", "Flags:", ...flagRows(command.flags, true).map((r) => `  ${r}`));
  if (command.packages.length > 0) {
    lines.push(
      "",
      `Needs the Debian packages ${command.packages.join(", ")} (installed automatically as root).`,
    );
  }
  return lines.join("\n") + "\n";
}

function synopsis(c: Command): string {
  const parts = [c.name];
  if (c.flags.length > 0) parts.push("[flags]");
  if (c.usage) parts.push(c.usage);
  return parts.join(" ");
}

function flagRows(flags: readonly FlagSpec[], withHelp = false): string[] {
  const rows = flags.map((f) => {
    const head = f.type === "boolean" ? `--${f.name}` : `--${f.name} ${f.value ?? "VALUE"}`;
    const text = f.default === undefined
      ? f.description
      : `${f.description.replace(/\.$/, "")} (default: ${f.default}).`;
    return [head, text];
  });
  if (withHelp) rows.push(["-h, --help", "Show this help."]);
  const width = Math.max(0, ...rows.map(([head]) => head.length));
  return rows.map(([head, text]) => `${head.padEnd(width)}  ${text}`);
}

/** `./skiff help [COMMAND]`. */
export const helpCommand: Command = {
  name: "help",
  summary: "Describe every command and flag, or one command with ./skiff help <command>.",
  usage: "[COMMAND]",
  flags: [],
  args: "positional",
  packages: [],
  run({ args, commands }) {
    const name = args.join(" ");
    if (args.length > 2 || (args.length === 2 && !commands.some((c) => c.name === name))) {
      throw new CliError(`help takes one command name at most; see ./skiff help`, 2);
    }
    if (args.length === 0) {
      console.log(formatHelp(commands).trimEnd());
      return Promise.resolve(0);
    }
    const command = commands.find((c) => c.name === name || c.name === name.replace("-", " "));
    if (!command) throw new CliError(`unknown command "${args[0]}"; see ./skiff help`, 2);
    console.log(formatCommandHelp(command).trimEnd());
    return Promise.resolve(0);
  },
};
