import assert from "node:assert/strict";
import { CRUN, readOnlyBinaries } from "./crun.ts";

Deno.test("readOnlyBinaries() names crun unless SKIFF_CRUN_READONLY_BIND=0", () => {
  assert.deepEqual(readOnlyBinaries(() => undefined), [CRUN]);
  assert.deepEqual(readOnlyBinaries(() => "1"), [CRUN]);
  assert.deepEqual(readOnlyBinaries((n) => n === "SKIFF_CRUN_READONLY_BIND" ? "0" : undefined), []);
});
