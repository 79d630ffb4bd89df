import assert from "node:assert/strict";
import { expand, mappingFor } from "./expand.ts";

const m = mappingFor({ HOST: "db", PORT: "5432", EMPTY: "" });

Deno.test("expand() replaces defined $(VAR) references", () => {
  assert.equal(expand("$(HOST):$(PORT)", m), "db:5432");
  assert.equal(expand("x$(EMPTY)y", m), "xy");
});

Deno.test("expand() leaves undefined references as written", () => {
  assert.equal(expand("$(NOPE) and $(HOST)", m), "$(NOPE) and db");
});

Deno.test("expand() treats $$ as an escaped dollar", () => {
  assert.equal(expand("$$(HOST)", m), "$(HOST)");
  assert.equal(expand("cost: $$5", m), "cost: $5");
});

Deno.test("expand() keeps an unclosed reference and lone dollars", () => {
  assert.equal(expand("$(HOST", m), "$(HOST");
  assert.equal(expand("a$b", m), "a$b");
  assert.equal(expand("end$", m), "end$");
});

Deno.test("mappingFor() looks contexts up in order, Maps included", () => {
  const f = mappingFor(new Map([["A", "map"]]), { A: "record", B: "b" });
  assert.equal(f("A"), "map");
  assert.equal(f("B"), "b");
  assert.equal(f("C"), "$(C)");
});
