/**
 * Writes a projected volume's files so a reader never sees a half-updated set, as the kubelet's
 * `AtomicWriter`: the files go into a fresh `..<timestamp>` directory, the `..data` symlink is
 * switched to it with one rename, and each top-level name is a symlink through `..data`.
 * Unchanged payloads are not rewritten.
 *
 * @example
 * ```ts
 * await writeAtomically(dir, new Map([["app.conf", { data: bytes, mode: 0o644 }]]));
 * ```
 * @module
 */
import type { ProjectedFile } from "./projection.ts";

const DATA = "..data";

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function currentPayloadMatches(dir: string, files: Map<string, ProjectedFile>): Promise<boolean> {
  let target: string;
  try {
    target = await Deno.readLink(`${dir}/${DATA}`);
  } catch {
    return false;
  }
  const base = `${dir}/${target}`;
  const existing = await listFiles(base);
  if (existing.length !== files.size) return false;
  for (const [path, f] of files) {
    try {
      const st = await Deno.stat(`${base}/${path}`);
      if (((st.mode ?? 0) & 0o7777) !== f.mode) return false;
      if (!same(await Deno.readFile(`${base}/${path}`), f.data)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory) out.push(...await listFiles(dir, rel));
      else out.push(rel);
    }
  } catch { /* missing */ }
  return out;
}

function stamp(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${
    p(d.getUTCMinutes())
  }_${p(d.getUTCSeconds())}.${crypto.randomUUID().slice(0, 8)}`;
}

/** Makes `dir` hold exactly `files`. Returns whether anything changed. */
export async function writeAtomically(dir: string, files: Map<string, ProjectedFile>): Promise<boolean> {
  await Deno.mkdir(dir, { recursive: true });
  if (await currentPayloadMatches(dir, files)) return false;
  let old: string | undefined;
  try {
    old = await Deno.readLink(`${dir}/${DATA}`);
  } catch { /* first write */ }

  const ts = stamp();
  for (const [path, f] of files) {
    const full = `${dir}/${ts}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(full, f.data, { mode: f.mode });
    await Deno.chmod(full, f.mode);
  }
  await Deno.mkdir(`${dir}/${ts}`, { recursive: true });
  await Deno.remove(`${dir}/${DATA}_tmp`).catch(() => {});
  await Deno.symlink(ts, `${dir}/${DATA}_tmp`);
  await Deno.rename(`${dir}/${DATA}_tmp`, `${dir}/${DATA}`);

  const wanted = new Set([...files.keys()].map((p) => p.split("/")[0]));
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith("..")) continue;
    if (!wanted.has(e.name)) await Deno.remove(`${dir}/${e.name}`, { recursive: true });
  }
  for (const name of wanted) {
    try {
      await Deno.lstat(`${dir}/${name}`);
    } catch {
      await Deno.symlink(`${DATA}/${name}`, `${dir}/${name}`);
    }
  }
  if (old && old !== ts) await Deno.remove(`${dir}/${old}`, { recursive: true }).catch(() => {});
  return true;
}
