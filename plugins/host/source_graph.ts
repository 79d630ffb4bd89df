/**
 * The local files a plugin's TypeScript/JavaScript entry is built from: the entry and every module
 * it reaches through relative imports (`import … from "./x.ts"`, `export … from "../y.ts"`,
 * `import "./z.ts"`, `import("./w.ts")`), so the build cache (plugins/host/build.ts) sees a change
 * to a shared module outside the plugin's folder (the crun plugin's plugins/runtime/oci/*.ts).
 * Bare specifiers (npm packages, `skiff:*`, `wasi:*`) are not followed: the cache key covers the
 * toolchain's versions instead. Specifiers are read with a pattern, not a parser: a relative import
 * inside a comment or string is also followed (harmless: one more file hashed).
 * @module
 */

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

/** The relative specifiers a module's text imports or re-exports, in order of appearance. Pure. */
export function relativeImports(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((m) => m[1]);
}

/** The entry and every local module reachable from it by relative imports, as absolute paths, sorted. */
export async function localModuleGraph(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [new URL(`file://${entry}`).pathname];
  while (queue.length) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch {
      continue; // the bundler reports a missing module; the key only has to change with the files
    }
    seen.add(path);
    for (const spec of relativeImports(text)) queue.push(new URL(spec, `file://${path}`).pathname);
  }
  return [...seen].sort();
}
