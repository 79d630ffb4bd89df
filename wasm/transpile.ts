/**
 * Transpiling a component with jco-transpile, the way {@linkcode TRANSPILE_FORMAT} says.
 * Synchronous work for 0.1–3 s: only the transpile worker calls it.
 * @module
 */
import { transpileBytes } from "@bytecodealliance/jco-transpile";
import {
  ASYNC_EXPORTS,
  ASYNC_IMPORTS,
  GLUE_FILE,
  patchGlue,
  TRANSPILE_FORMAT,
  type Transpiled,
} from "./transpile_options.ts";

export { TRANSPILE_FORMAT };

/** Transpiles component bytes into glue and core modules (TypeScript declarations dropped). */
export async function transpileComponent(bytes: Uint8Array): Promise<Transpiled> {
  const out = await transpileBytes(bytes, {
    name: "component",
    instantiation: "async",
    asyncMode: "jspi",
    asyncImports: [...ASYNC_IMPORTS],
    asyncExports: [...ASYNC_EXPORTS],
    emitTypescriptDeclarations: false,
  });
  const files: Record<string, Uint8Array> = {};
  for (const [name, data] of Object.entries(out.files)) {
    if (name.endsWith(".d.ts")) continue;
    files[name] = name === GLUE_FILE
      ? new TextEncoder().encode(patchGlue(new TextDecoder().decode(data)))
      : data;
  }
  return { files, imports: out.imports, exports: out.exports };
}
