import assert from "node:assert/strict";
import { blocks, cidrOfClaim, claimName, freeBlocks, overlaps } from "./pod_cidr.ts";

Deno.test("blocks() cuts the pool into node-sized blocks", () => {
  const b = blocks("198.18.0.0/16", 22);
  assert.equal(b.length, 64);
  assert.equal(b[0], "198.18.0.0/22");
  assert.equal(b[1], "198.18.4.0/22");
  assert.equal(b[63], "198.18.252.0/22");
  assert.equal(blocks("198.18.0.0/16", 24).length, 256);
  assert.throws(() => blocks("198.18.0.0/16", 8));
});

Deno.test("freeBlocks() skips every block overlapping one taken, whatever its size", () => {
  const free = freeBlocks("198.18.0.0/16", 22, ["198.18.0.0/22", "198.18.5.0/24", "10.1.0.0/16", "bogus"]);
  assert.equal(free[0], "198.18.8.0/22");
  assert.equal(free.length, 62);
  assert.equal(overlaps("198.18.0.0/16", "198.18.7.0/24"), true);
  assert.equal(overlaps("198.18.4.0/22", "198.18.8.0/22"), false);
});

Deno.test("claimName() and cidrOfClaim() are inverse and make valid object names", () => {
  const name = claimName("198.18.4.0/22");
  assert.equal(name, "skiff-podcidr-198-18-4-0-22");
  assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.equal(cidrOfClaim(name), "198.18.4.0/22");
  assert.equal(cidrOfClaim("web"), undefined);
});
