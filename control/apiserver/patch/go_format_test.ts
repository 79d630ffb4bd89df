import assert from "node:assert/strict";
import { goFormat, goTypeName } from "./go_format.ts";

Deno.test("goFormat() prints maps with sorted keys and lists space-separated, as Go's %v", () => {
  assert.equal(
    goFormat({ name: "web", image: "nginx", ports: [80, 443] }),
    "map[image:nginx name:web ports:[80 443]]",
  );
  assert.equal(goFormat([{ name: "a" }, { name: "b" }]), "[map[name:a] map[name:b]]");
  assert.equal(goFormat(null), "<nil>");
  assert.equal(goFormat(true), "true");
  assert.equal(goFormat(1.5), "1.5");
  assert.equal(goFormat(0.00001), "1e-05");
});

Deno.test("goTypeName() names JSON values as reflect does", () => {
  assert.equal(goTypeName([]), "[]interface {}");
  assert.equal(goTypeName({}), "map[string]interface {}");
  assert.equal(goTypeName("x"), "string");
  assert.equal(goTypeName(3), "int64");
  assert.equal(goTypeName(3.5), "float64");
  assert.equal(goTypeName(false), "bool");
  assert.equal(goTypeName(null), "%!s(<nil>)");
});
