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
      const first = await spare.take(`${prefix}_own-1`);
      assert.match(first, new RegExp(`^${prefix}_n-[0-9a-f]{8}$`));
      assert.ok(listNetns(prefix).includes(first), "the spare exists before it is taken");
      // Nothing made since: the next take makes its own, by the name it is given.
      assert.equal(await spare.take(`${prefix}_own-2`), `${prefix}_own-2`);
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
