import assert from "node:assert/strict";
import { blocks, cidrSetError, nextFreeBlock, overlaps } from "./cidr_set.ts";

Deno.test("blocks() cuts the cluster CIDR into node-sized blocks, lowest first", () => {
  const b = blocks("198.18.0.0/16", 22);
  assert.equal(b.length, 64);
  assert.deepEqual([b[0], b[1], b[63]], ["198.18.0.0/22", "198.18.4.0/22", "198.18.252.0/22"]);
  assert.equal(blocks("198.18.0.0/16", 24).length, 256);
  assert.throws(() => blocks("198.18.0.0/16", 8), /between the cluster CIDR's \(16\) and 30/);
  assert.equal(cidrSetError("10.0.0.0/8", 26), "node CIDR mask size 26 is more than 16 bits longer than /8");
  assert.equal(cidrSetError("nope", 24), 'invalid cluster CIDR "nope"');
});

Deno.test("nextFreeBlock() skips every block a taken range touches, whatever its size or alignment", () => {
  assert.equal(nextFreeBlock("198.18.0.0/16", 22, []), "198.18.0.0/22");
  assert.equal(
    nextFreeBlock("198.18.0.0/16", 22, ["198.18.0.0/22", "198.18.5.0/24", "10.128.0.0/24", "bogus"]),
    "198.18.8.0/22",
    "a /24 inside the second /22 blocks it; ranges outside the pool and garbage are ignored",
  );
  assert.equal(nextFreeBlock("198.18.0.0/22", 24, ["198.18.0.0/16"]), null, "a covering range takes all");
  assert.equal(overlaps("198.18.0.0/16", "198.18.7.0/24"), true);
  assert.equal(overlaps("198.18.4.0/22", "198.18.8.0/22"), false);
});
