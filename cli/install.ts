/**
 * Installs the Debian packages a command declares in the command table.
 *
 * Decide in {@linkcode planInstall} (pure), act in {@linkcode ensureDebianPackages} through an
 * injectable {@linkcode InstallIO}. As root, missing packages are installed with apt-get (after
 * one `apt-get update` per process, only when something is missing); otherwise the command fails
 * with a message saying what to install.
 * @module
 */
import { CliError } from "./errors.ts";

/** What {@linkcode ensureDebianPackages} should do. */
export type InstallPlan =
  | { kind: "nothing" }
  | { kind: "install"; missing: string[]; commands: string[][] }
  | { kind: "refuse"; missing: string[]; message: string };

/** The apt-get command line that installs `packages`. */
export function aptInstallCommand(packages: readonly string[]): string[] {
  return ["apt-get", "install", "-y", "--no-install-recommends", ...packages];
}

/** Decides what to do about `missing` packages. */
export function planInstall(
  missing: readonly string[],
  opts: { root: boolean; aptUpdated: boolean },
): InstallPlan {
  if (missing.length === 0) return { kind: "nothing" };
  if (!opts.root) {
    const message = `missing Debian packages: ${missing.join(", ")}. Install them as root with: ` +
      `${aptInstallCommand(missing).join(" ")} (or run ./skiff as root to install them automatically)`;
    return { kind: "refuse", missing: [...missing], message };
  }
  const commands = opts.aptUpdated ? [] : [["apt-get", "update"]];
  commands.push(aptInstallCommand(missing));
  return { kind: "install", missing: [...missing], commands };
}

/** The machine as {@linkcode ensureDebianPackages} sees it. */
export interface InstallIO {
  isRoot(): boolean;
  /** Whether `pkg` is installed (`dpkg-query -W`). */
  installed(pkg: string): Promise<boolean>;
  /** Runs a command with its output on stderr; resolves to its exit code. */
  run(argv: string[]): Promise<number>;
  /** Prints one line to stderr. */
  log(line: string): void;
}

/** Per-process state: `apt-get update` runs at most once. */
export interface InstallState {
  aptUpdated: boolean;
}

const processState: InstallState = { aptUpdated: false };

/** The real machine: dpkg-query, apt-get, stderr. */
export const systemInstallIO: InstallIO = {
  isRoot: () => Deno.uid() === 0,
  async installed(pkg) {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("dpkg-query", { args: ["-W", "-f=${Status}", pkg], stdin: "null" })
        .output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new CliError(
          `dpkg-query not found: skiff installs system packages on Debian only; install ${pkg} yourself`,
        );
      }
      throw e;
    }
    return out.success && new TextDecoder().decode(out.stdout).trim().endsWith(" installed");
  },
  async run(argv) {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).spawn();
    // stdout belongs to the command's own output (`up` prints exactly two lines there).
    await child.stdout.pipeTo(Deno.stderr.writable, { preventClose: true });
    return (await child.status).code;
  },
  log: (line) => console.error(line),
};

/**
 * Makes sure every package in `packages` is installed, installing missing ones as root.
 * Throws a {@linkcode CliError} (exit 1) when something is missing and cannot be installed.
 *
 * @example
 * ```ts
 * await ensureDebianPackages(["crun", "conmon"]);
 * ```
 */
export async function ensureDebianPackages(
  packages: readonly string[],
  opts: { io?: InstallIO; state?: InstallState } = {},
): Promise<void> {
  if (packages.length === 0) return;
  const io = opts.io ?? systemInstallIO;
  const state = opts.state ?? processState;
  const missing: string[] = [];
  for (const pkg of packages) if (!(await io.installed(pkg))) missing.push(pkg);
  const plan = planInstall(missing, { root: io.isRoot(), aptUpdated: state.aptUpdated });
  if (plan.kind === "nothing") return;
  if (plan.kind === "refuse") throw new CliError(plan.message);
  io.log(`skiff: installing Debian packages ${plan.missing.join(", ")} (apt-get)...`);
  for (const argv of plan.commands) {
    const code = await io.run(argv);
    if (code !== 0) {
      throw new CliError(`${argv.slice(0, 2).join(" ")} failed with exit code ${code}; see its output above`);
    }
    if (argv[1] === "update") state.aptUpdated = true;
  }
}
