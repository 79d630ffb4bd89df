/**
 * The control plane on Deno Deploy: the API server on the attached KV database, served with
 * `Deno.serve`, compaction on `Deno.cron`. Nothing else: no subprocesses, no files, no KV queues.
 *
 * Deploy it with this file as the entry point (`deno deploy control/deploy.ts`); instances share the
 * database, and each serves the whole API (watches across instances poll, as for local replicas).
 * @module
 */
import { ApiServer } from "./apiserver/server.ts";

const kv = await Deno.openKv();
// Deploy without an attached database silently gives each instance its own store: refuse that.
const canary = ["m", "deploy-canary"];
await kv.set(canary, Date.now());
if ((await kv.get(canary)).value === null) throw new Error("Deno KV is not usable: attach a database to this app");

const server = new ApiServer({ kv, compactionIntervalMs: 0 });
await server.start();
Deno.cron("skiff-compaction", "* * * * *", async () => {
  await server.compact();
});
Deno.serve(server.fetch);
