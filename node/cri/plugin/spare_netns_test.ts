import assert from "node:assert/strict";
import { createNetns, deleteNetns, listNetns } from "../../cni/netns.ts";
import { SpareNetns } from "./spare_netns.ts";

const root = Deno.uid() === 0;

Deno.test({
  name: "SpareNetns hands out a namespace made ahead of time, makes the next on refill, and cleans up",
  ignore: !root,
  fn: async () => {
    const prefix = `sktest${Deno.pid}-`;
    const leftover = `${prefix}_n-leftover`;
    const inUse = `${prefix}_n-inuse`;
    await createNetns(leftover);
    await createNetns(inUse);
    try {
      const spare = await SpareNetns.open(prefix, new Set([inUse]));
      // A previous agent's unused spare is gone; one a sandbox uses stays.
      assert.ok(!listNetns(prefix).includes(leftover));
      assert.ok(listNetns(prefix).includes(inUse));
      // The first spare is made in the background: a take before that makes its own.
      for (let i = 0; i < 500 && !listNetns(`${prefix}_n-`).some((n) => n !== inUse); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 10)); // its promise settles after the file shows
      const taken = spare.take(`${prefix}_own-1`);
      await taken.made;
      const first = taken.name;
      assert.match(first, new RegExp(`^${prefix}_n-[0-9a-f]{8}$`));
      assert.ok(listNetns(prefix).includes(first), "the spare exists before it is taken");
      // Nothing made since: the next take makes its own, by the name it is given.
      const own = spare.take(`${prefix}_own-2`);
      assert.equal(own.name, `${prefix}_own-2`);
      await own.made;
      assert.ok(listNetns(prefix).includes(own.name), "made by its own name");
      spare.refill();
      spare.refill(); // one spare at a time
      await spare.close();
      assert.deepEqual(
        listNetns(prefix).sort(),
        [first, inUse, `${prefix}_own-2`].sort(),
        "close deleted the spare not taken, and only it",
      );
    } finally {
      for (const n of listNetns(prefix)) await deleteNetns(n);
    }
  },
});
