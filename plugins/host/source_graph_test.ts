import assert from "node:assert/strict";
import { localModuleGraph, relativeImports } from "./source_graph.ts";

Deno.test("relativeImports() finds static, side-effect, re-export and dynamic relative imports only", () => {
  const text = `
import type { A } from "../../oci/a.ts";
import { b } from './b.ts';
export { c } from "./c.ts";
import "./d.ts";
const e = await import("../e.ts");
import { f } from "skiff:runtime/types@0.1.0";
import yaml from "yaml";
`;
  assert.deepEqual(relativeImports(text), ["../../oci/a.ts", "./b.ts", "./c.ts", "./d.ts", "../e.ts"]);
});

Deno.test("localModuleGraph() follows relative imports across folders and survives cycles", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-graph-" });
  try {
    await Deno.mkdir(`${dir}/plugin`);
    await Deno.mkdir(`${dir}/shared`);
    await Deno.writeTextFile(
      `${dir}/plugin/plugin.ts`,
      `import { s } from "../shared/s.ts";\nimport "yaml";`,
    );
    await Deno.writeTextFile(`${dir}/shared/s.ts`, `export { t } from "./t.ts";`);
    await Deno.writeTextFile(`${dir}/shared/t.ts`, `import { s } from "./s.ts"; export const t = 1;`);
    await Deno.writeTextFile(`${dir}/shared/unused.ts`, `export const u = 1;`);
    assert.deepEqual(await localModuleGraph(`${dir}/plugin/plugin.ts`), [
      `${dir}/plugin/plugin.ts`,
      `${dir}/shared/s.ts`,
      `${dir}/shared/t.ts`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
