import assert from "node:assert/strict";
import { groupMembers, parseStat, processStartTime, readStat } from "./proc.ts";

Deno.test("parseStat() reads pid, state, ppid, process group and start time, even with ') ' in the name", () => {
  const fields = ["S", "10", "20", "20", "0", "-1", "4194560", ...Array(12).fill("0"), "12345", "0"];
  assert.deepEqual(parseStat(`42 (a) b) ${fields.join(" ")}`), {
    pid: 42,
    state: "S",
    ppid: 10,
    pgrp: 20,
    startTime: 12345,
  });
  assert.equal(parseStat("garbage"), undefined);
});

Deno.test("readStat() describes this process and nothing for a PID that does not exist", () => {
  const me = readStat(Deno.pid);
  assert.equal(me?.pid, Deno.pid);
  assert.match(me?.state ?? "", /^[A-Za-z]$/);
  assert.ok((processStartTime(Deno.pid) ?? 0) > 0);
  assert.equal(readStat(2 ** 22 + 1), undefined);
});

Deno.test("groupMembers() lists the live members of a process group", async () => {
  const child = new Deno.Command("sh", { args: ["-c", "sleep 30 & sleep 30 & wait"], detached: true })
    .spawn();
  try {
    for (let i = 0; i < 100 && groupMembers(child.pid).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(groupMembers(child.pid).length, 3);
    assert.deepEqual(groupMembers(child.pid, Number.MAX_SAFE_INTEGER), []);
  } finally {
    Deno.kill(-child.pid, "SIGKILL");
    await child.status;
  }
});
