import assert from "node:assert/strict";
import { outgoingPolicy } from "./policy.ts";

const u = (s: string) => new URL(s);

Deno.test("outgoingPolicy() allows what its entries name and nothing else", () => {
  const p = outgoingPolicy(["198.18.0.0/16", "api.default.svc:8080", "example.test"]);
  assert.equal(p(u("http://198.18.3.4:9000/x")), true);
  assert.equal(p(u("http://198.19.0.1/")), false);
  assert.equal(p(u("http://api.default.svc:8080/")), true);
  assert.equal(p(u("http://api.default.svc/")), false, "port 80 is not 8080");
  assert.equal(p(u("https://example.test/")), true);
  assert.equal(outgoingPolicy([])(u("http://127.0.0.1/")), false);
  assert.equal(outgoingPolicy(["*"])(u("http://anything:1/")), true);
  assert.throws(() => outgoingPolicy(["1.2.3.4/40"]), /Invalid CIDR/);
});
