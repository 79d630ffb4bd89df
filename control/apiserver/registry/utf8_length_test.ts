import assert from "node:assert/strict";
import { utf8Length } from "./utf8_length.ts";

Deno.test("utf8Length() equals the length TextEncoder produces, for every kind of code unit", () => {
  const encoder = new TextEncoder();
  const samples = [
    "",
    "plain ascii",
    "x".repeat(512),
    "héllo wörld",
    "日本語のテキスト",
    "emoji 😀 and 🚀",
    "lone high \ud800 surrogate",
    "lone low \udc00 surrogate",
    "\ud800",
    "\udbff\udfff",
    "reversed \udc00\ud800 pair",
    "mixed \u007f\u0080\u07ff\u0800\uffff",
  ];
  for (const s of samples) assert.equal(utf8Length(s), encoder.encode(s).length, JSON.stringify(s));
  // Every single code unit.
  for (let c = 0; c < 0x10000; c++) {
    const s = String.fromCharCode(c);
    assert.equal(utf8Length(s), encoder.encode(s).length, `U+${c.toString(16)}`);
  }
});
