import assert from "node:assert/strict";
import {
  applyThreadSlice,
  decodeSchedAttr,
  encodeSchedAttr,
  getThreadAttr,
  SCHED_ATTR_SIZE,
  type SchedAttr,
  sliceAttr,
} from "./thread_slice.ts";

const fair: SchedAttr = {
  policy: 0,
  flags: 0n,
  nice: -3,
  priority: 0,
  runtimeNs: 1_400_000n,
  deadlineNs: 0n,
  periodNs: 0n,
};

Deno.test("encodeSchedAttr() lays out struct sched_attr VER0 as the kernel reads it", () => {
  const buf = encodeSchedAttr({ ...fair, runtimeNs: 300_000n });
  assert.equal(buf.length, SCHED_ATTR_SIZE);
  const v = new DataView(buf.buffer);
  assert.equal(v.getUint32(0, true), 48); // size
  assert.equal(v.getUint32(4, true), 0); // sched_policy
  assert.equal(v.getBigUint64(8, true), 0n); // sched_flags
  assert.equal(v.getInt32(16, true), -3); // sched_nice
  assert.equal(v.getUint32(20, true), 0); // sched_priority
  assert.equal(v.getBigUint64(24, true), 300_000n); // sched_runtime
  assert.equal(v.getBigUint64(32, true), 0n); // sched_deadline
  assert.equal(v.getBigUint64(40, true), 0n); // sched_period
  assert.deepEqual(decodeSchedAttr(buf), { ...fair, runtimeNs: 300_000n });
});

Deno.test("decodeSchedAttr() rejects a short buffer", () => {
  assert.throws(() => decodeSchedAttr(new Uint8Array(40)), /48 bytes/);
});

Deno.test("sliceAttr() keeps the policy and nice and sets only the slice", () => {
  assert.deepEqual(sliceAttr(fair, 1_000_000), { ...fair, runtimeNs: 1_000_000n });
  assert.deepEqual(sliceAttr({ ...fair, policy: 3 }, 0), { ...fair, policy: 3, runtimeNs: 0n });
});

Deno.test("sliceAttr() leaves real-time threads alone and rejects slices the kernel would clamp", () => {
  assert.equal(sliceAttr({ ...fair, policy: 1 }, 1_000_000), undefined); // SCHED_FIFO
  assert.throws(() => sliceAttr(fair, 50_000), /100000–100000000 ns/);
  assert.throws(() => sliceAttr(fair, 200_000_000), /100000–100000000 ns/);
  assert.throws(() => sliceAttr(fair, 1.5e6 + 0.5), /not 1500000.5/);
});

/** `se.slice` of a thread from /proc (Linux ≥ 6.12 prints it for fair tasks). */
function procSlice(pid: number, tid: number): number | undefined {
  const line = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/sched`).split("\n").find((l) =>
    l.startsWith("se.slice")
  );
  return line ? Number(line.split(":")[1]) : undefined;
}

Deno.test({
  name: "applyThreadSlice() gives every thread of another process the slice, read back from the kernel",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
    try {
      const before = getThreadAttr(child.pid).runtimeNs;
      const r = applyThreadSlice(child.pid, 300_000);
      if (procSlice(child.pid, child.pid) === undefined) {
        // Before 6.12 the kernel ignores sched_runtime for fair tasks: reported, not thrown.
        console.log("skipped the read-back: this kernel has no per-task slice (Linux < 6.12)");
        assert.equal(r.applied.length, 0);
        return;
      }
      assert.deepEqual(r.failed, []);
      assert.deepEqual(r.applied, [child.pid]);
      assert.equal(getThreadAttr(child.pid).runtimeNs, 300_000n);
      assert.equal(procSlice(child.pid, child.pid), 300_000);
      // 0 restores the kernel's default slice.
      assert.deepEqual(applyThreadSlice(child.pid, 0).applied, [child.pid]);
      assert.equal(getThreadAttr(child.pid).runtimeNs, before);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test("applyThreadSlice() reports a process that does not exist instead of throwing", () => {
  const r = applyThreadSlice(2 ** 22 + 12345, 300_000);
  assert.deepEqual(r.applied, []);
  assert.match(r.failed[0].reason, /cannot list/);
});
