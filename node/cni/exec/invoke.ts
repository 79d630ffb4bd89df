/**
 * Runs one CNI plugin binary: found by its `type` in the bin directories (CNI_PATH), with the
 * `CNI_*` environment, the configuration on stdin, a time limit; stdout is the answer.
 * @module
 */
import { CniError } from "../api.ts";
import { type CniCommand, parseError } from "./protocol.ts";

/** The binary of plugin `type`: the first executable `<dir>/<type>` (libcni's FindInPath). */
export function findPlugin(type: string, binDirs: string[]): string {
  for (const dir of binDirs) {
    try {
      const st = Deno.statSync(`${dir}/${type}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111)) return `${dir}/${type}`;
    } catch { /* next */ }
  }
  throw new CniError(999, `failed to find plugin "${type}" in path [${binDirs.join(" ")}]`);
}

/** Executes the plugin; resolves to its stdout, throws the {@linkcode CniError} it reported. */
export async function execPlugin(
  type: string,
  binDirs: string[],
  command: CniCommand,
  env: Record<string, string>,
  stdin: string,
  timeoutMs: number,
): Promise<string> {
  const path = findPlugin(type, binDirs);
  const child = new Deno.Command(path, {
    env: { PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  try {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
    const out = await child.output();
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
    if (timedOut) {
      throw new CniError(999, `plugin ${type} (${command}) did not answer within ${timeoutMs} ms`);
    }
    if (out.code !== 0) throw parseError(type, command, out.code, stdout, stderr);
    return stdout;
  } finally {
    clearTimeout(timer);
  }
}
