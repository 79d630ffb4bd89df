import assert from "node:assert/strict";
import {
  encodeLine,
  fromBase64,
  LineDecoder,
  parseMessage,
  parseWatchdogLine,
  toBase64,
  WATCHDOG_PREFIX,
} from "./protocol.ts";

Deno.test("LineDecoder splits a stream into whole lines, across chunks and multi-byte characters", () => {
  const d = new LineDecoder();
  const bytes = new TextEncoder().encode(
    encodeLine({ op: "stop", id: "é", graceMs: 1 }) + encodeLine({ op: "shutdown" }),
  );
  assert.deepEqual(d.push(bytes.subarray(0, 20)), []);
  const lines = d.push(bytes.subarray(20));
  assert.deepEqual(lines.map((l) => parseMessage(l)), [{ op: "stop", id: "é", graceMs: 1 }, {
    op: "shutdown",
  }]);
  assert.equal(parseMessage("not json"), undefined);
});

Deno.test("toBase64() and fromBase64() carry any bytes, also large ones", () => {
  const bytes = new Uint8Array(100_000).map((_, i) => i * 7);
  assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
});

Deno.test("parseWatchdogLine() reads only prefixed lines", () => {
  assert.deepEqual(parseWatchdogLine(`${WATCHDOG_PREFIX}{"container":"c","stalledMs":5}`), {
    container: "c",
    stalledMs: 5,
  });
  assert.equal(parseWatchdogLine('{"container":"c"}'), undefined);
});
