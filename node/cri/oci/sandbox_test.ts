import assert from "node:assert/strict";
import { writePodFiles } from "./sandbox.ts";

const dns = { servers: ["198.19.0.10"], searches: ["default.svc.cluster.local"], options: ["ndots:5"] };

Deno.test("writePodFiles() adds the IP to hosts and leaves unchanged files unwritten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-podfiles-" });
  try {
    await writePodFiles(`${dir}/pod`, undefined, "web-0", dns);
    const first = {
      hostname: Deno.statSync(`${dir}/pod/hostname`),
      resolv: Deno.statSync(`${dir}/pod/resolv.conf`),
    };
    assert.equal(Deno.readTextFileSync(`${dir}/pod/hostname`), "web-0\n");
    assert.doesNotMatch(Deno.readTextFileSync(`${dir}/pod/hosts`), /198\.18\.0\.7/);
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would move the mtime
    await writePodFiles(`${dir}/pod`, "198.18.0.7", "web-0", dns);
    assert.match(Deno.readTextFileSync(`${dir}/pod/hosts`), /^198\.18\.0\.7\tweb-0$/m);
    assert.equal(Deno.statSync(`${dir}/pod/hostname`).mtime?.getTime(), first.hostname.mtime?.getTime());
    assert.equal(Deno.statSync(`${dir}/pod/resolv.conf`).mtime?.getTime(), first.resolv.mtime?.getTime());
    assert.match(Deno.readTextFileSync(`${dir}/pod/resolv.conf`), /nameserver 198\.19\.0\.10/);
    // A changed content is written.
    await writePodFiles(`${dir}/pod`, "198.18.0.7", "web-1", dns);
    assert.equal(Deno.readTextFileSync(`${dir}/pod/hostname`), "web-1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writePodFiles() creates every file it bind-mounts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-podfiles-" });
  try {
    await writePodFiles(dir, "198.18.0.8", "", { servers: [], searches: [], options: [] });
    for (const f of ["hosts", "hostname", "resolv.conf"]) assert.ok(Deno.statSync(`${dir}/${f}`).isFile, f);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
