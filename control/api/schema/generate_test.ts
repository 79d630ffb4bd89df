import assert from "node:assert/strict";
import { type Attribute, buildTable, denoFmtJson, encodeType, generate, renderTable } from "./generate.ts";

Deno.test("encodeType() encodes scalars by type and format", () => {
  assert.equal(encodeType("string", ""), "s");
  assert.equal(encodeType("string", "byte"), "y");
  assert.equal(encodeType("number", "int32"), "i");
  assert.equal(encodeType("number", "int64"), "i");
  assert.equal(encodeType("number", "double"), "n");
  assert.equal(encodeType("boolean", ""), "b");
  assert.equal(encodeType("Date", "date-time"), "t");
  assert.equal(encodeType("V1MicroTime", "date-time-micro"), "t");
  assert.equal(encodeType("IntOrString", "int-or-string"), "u");
  assert.equal(encodeType("any", ""), "*");
  assert.equal(encodeType("object", ""), "*");
});

Deno.test("encodeType() encodes lists and maps and collects referenced models", () => {
  const refs = new Set<string>();
  assert.equal(encodeType("Array<V1EnvVar>", "", refs), "[V1EnvVar");
  assert.equal(encodeType("{ [key: string]: string; }", "byte", refs), "{y");
  assert.equal(encodeType("{ [key: string]: Array<string>; }", "", refs), "{[s");
  assert.equal(encodeType("{ [key: string]: V1JSONSchemaProps; }", "", refs), "{V1JSONSchemaProps");
  assert.deepEqual([...refs].sort(), ["V1EnvVar", "V1JSONSchemaProps"]);
});

Deno.test("encodeType() rejects a type string it does not understand", () => {
  assert.throws(() => encodeType("Map<string, string>", ""), /unsupported client-node type/);
});

Deno.test("buildTable() keeps only types reachable from the roots, sorted by name", async () => {
  const models: Record<string, Attribute[]> = {
    Root: [
      { name: "spec", baseName: "spec", type: "Spec", format: "" },
      { name: "ref", baseName: "$ref", type: "string", format: "" },
    ],
    Spec: [{ name: "items", baseName: "items", type: "Array<Item>", format: "" }],
    Item: [{ name: "n", baseName: "n", type: "number", format: "int32" }],
    Unused: [{ name: "x", baseName: "x", type: "string", format: "" }],
  };
  const table = await buildTable(["Root"], (name) => Promise.resolve(models[name]));
  assert.deepEqual(Object.keys(table), ["Item", "Root", "Spec"]);
  assert.deepEqual(table.Root, { spec: "Spec", $ref: "s" });
  await assert.rejects(
    () => buildTable(["Missing"], () => Promise.resolve(undefined)),
    /no model named Missing/,
  );
});

Deno.test("renderTable() writes one type per line", () => {
  const text = renderTable("src", { A: { a: "s" }, B: { b: "[A" } });
  assert.equal(text, '{"source":"src","types":{\n"A":{"a":"s"},\n"B":{"b":"[A"}\n}}\n');
});

Deno.test("the committed types.json is what the generator produces from the installed client-node", async () => {
  const committed = await Deno.readTextFile(new URL("./types.json", import.meta.url));
  const generated = await generate();
  assert.deepEqual(JSON.parse(committed), JSON.parse(generated), "types.json is stale: run `deno task gen`");
  assert.equal(await generate(), generated, "the generator is deterministic");
});

Deno.test("denoFmtJson() formats the table as deno fmt does", async () => {
  const committed = await Deno.readTextFile(new URL("./types.json", import.meta.url));
  assert.equal(await denoFmtJson(await generate()), committed);
});
