/**
 * Running one foreground child (`deno test`, `deno task bench`) with the terminal, forwarding
 * SIGINT and SIGTERM to it, and returning its exit code.
 * @module
 */

/** Runs `cmd` with inherited stdio until it exits; resolves to its exit code (128+N when killed by signal N). */
export async function runForwardingSignals(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<number> {
  const child = new Deno.Command(cmd, { args, cwd: opts.cwd, env: opts.env, stdin: "inherit" }).spawn();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const forward = signals.map((s) => {
    const fn = () => {
      try {
        child.kill(s);
      } catch { /* already exited */ }
    };
    Deno.addSignalListener(s, fn);
    return () => Deno.removeSignalListener(s, fn);
  });
  try {
    return (await child.status).code;
  } finally {
    for (const remove of forward) remove();
  }
}
