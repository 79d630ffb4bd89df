/**
 * `./skiff version`: the skiff version and the runtime it runs on.
 * @module
 */
import type { Command } from "./args.ts";

/** The skiff release. */
export const VERSION = "0.1.0";

/** The version line: `skiff 0.1.0 (deno 2.9.6, v8 …, typescript …)`. */
export function versionLine(deno: typeof Deno.version = Deno.version): string {
  return `skiff ${VERSION} (deno ${deno.deno}, v8 ${deno.v8}, typescript ${deno.typescript})`;
}

/** `./skiff version` (also `./skiff --version`). */
export const versionCommand: Command = {
  name: "version",
  summary: "Print the skiff version and the Deno runtime it runs on.",
  flags: [],
  args: "none",
  packages: [],
  run() {
    console.log(versionLine());
    return Promise.resolve(0);
  },
};
