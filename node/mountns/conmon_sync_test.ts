import assert from "node:assert/strict";
import { conmonPidFile, ConmonSyncs, parseSyncLine } from "./conmon_sync.ts";

Deno.test("conmonPidFile() finds conmon's container pid file and ignores other binaries", () => {
  assert.equal(
    conmonPidFile(["/usr/bin/conmon", "-c", "x", "-p", "/b/x/pid", "-P", "/b/x/conmon.pid"]),
    "/b/x/pid",
  );
  assert.equal(conmonPidFile(["conmon", "--container-pidfile", "/b/pid"]), "/b/pid");
  assert.equal(conmonPidFile(["conmon", "--container-pidfile=/b/pid"]), "/b/pid");
  assert.equal(conmonPidFile(["/usr/bin/crun", "-p", "/b/pid"]), undefined);
  assert.equal(conmonPidFile(["/usr/bin/conmon", "-c", "x"]), undefined);
  assert.equal(conmonPidFile(["/usr/bin/conmon", "-p"]), undefined);
});

Deno.test("parseSyncLine() reads conmon's pid, its failure and message, and names a broken line", () => {
  assert.deepEqual(parseSyncLine('{"data": 4242}'), { data: 4242 });
  assert.deepEqual(parseSyncLine('{"pid": 7}'), { data: 7 });
  assert.deepEqual(
    parseSyncLine('{"data": -1, "message": "executable file `nope` not found in $PATH"}'),
    { data: -1, message: "executable file `nope` not found in $PATH" },
  );
  assert.deepEqual(parseSyncLine(""), {});
  assert.match(parseSyncLine("{oops").error!, /not JSON/);
  assert.match(parseSyncLine('{"other": 1}').error!, /no data/);
});

Deno.test("ConmonSyncs hands each message to one wait and forgets the oldest past its bound", async () => {
  const s = new ConmonSyncs(2);
  s.put("/a/pid", Promise.resolve({ data: 1 }));
  s.put("/b/pid", Promise.resolve({ data: 2 }));
  s.put("/c/pid", Promise.resolve({ data: 3 }));
  assert.equal(s.size, 2);
  assert.equal(s.take("/a/pid"), undefined, "the oldest was forgotten");
  assert.deepEqual(await s.take("/b/pid"), { data: 2 });
  assert.equal(s.take("/b/pid"), undefined, "taken once");
  assert.deepEqual(await s.take("/c/pid"), { data: 3 });
  assert.equal(s.size, 0);
});
