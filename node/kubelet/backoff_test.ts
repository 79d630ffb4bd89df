import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";
import { goDuration } from "./duration.ts";

Deno.test("Backoff lets the first restart through, then doubles to the cap", () => {
  const b = new Backoff({ baseMs: 10_000, capMs: 40_000 });
  let t = 0;
  assert.equal(b.inBackoffSince("k", t, t), false);
  b.next("k", t, t);
  const delays = [];
  for (let i = 0; i < 4; i++) {
    t += 1000; // the container crashed a second after starting
    assert.equal(b.inBackoffSince("k", t, t), true);
    delays.push(b.get("k"));
    t += b.remaining("k", t, t);
    assert.equal(b.inBackoffSince("k", t - b.get("k"), t), false);
    b.next("k", t, t);
  }
  assert.deepEqual(delays, [10_000, 20_000, 40_000, 40_000]);
});

Deno.test("Backoff starts over after twice the cap of good running", () => {
  const b = new Backoff({ baseMs: 100, capMs: 1000 });
  b.next("k", 0, 0);
  b.next("k", 0, 0);
  assert.equal(b.get("k"), 200);
  const finished = 2001; // ran for more than 2 × cap since the last restart
  assert.equal(b.inBackoffSince("k", finished, finished), false);
  b.next("k", finished, finished);
  assert.equal(b.get("k"), 100);
});

Deno.test("Backoff forgets a pod's keys", () => {
  const b = new Backoff();
  b.next("uid/a", 0, 0);
  b.next("other/a", 0, 0);
  b.forgetPrefix("uid/");
  assert.equal(b.get("uid/a"), 0);
  assert.equal(b.get("other/a"), 10_000);
});

Deno.test("goDuration() prints as Go does", () => {
  assert.equal(goDuration(10_000), "10s");
  assert.equal(goDuration(80_000), "1m20s");
  assert.equal(goDuration(300_000), "5m0s");
  assert.equal(goDuration(1600), "1.6s");
  assert.equal(goDuration(400), "400ms");
});

Deno.test("Backoff counts an image pull's back-off from its last update", () => {
  const b = new Backoff({ baseMs: 10_000, capMs: 40_000 });
  assert.equal(b.inBackoffSinceUpdate("k", 0), false);
  b.next("k", 0, 0);
  assert.equal(b.inBackoffSinceUpdate("k", 9_999), true);
  assert.equal(b.remainingSinceUpdate("k", 4_000), 6_000);
  assert.equal(b.inBackoffSinceUpdate("k", 10_000), false, "the pull may be retried");
  b.next("k", 10_000, 10_000);
  assert.equal(b.remainingSinceUpdate("k", 10_000), 20_000);
  assert.equal(
    b.inBackoffSinceUpdate("k", 10_000 + 80_001),
    false,
    "an entry idle for twice the cap expires",
  );
});
