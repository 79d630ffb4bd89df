import assert from "node:assert/strict";
import { resolveUser, runAsNonRootViolation, UserError } from "./user.ts";

const passwd =
  "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n# comment\nnobody:x:65534:65534::/:/bin/false\n";
const group = "root:x:0:\napp:x:1000:\nextra:x:2000:app,other\nnogroup:x:65534:\n";

Deno.test("resolveUser() resolves the image's User by number or name, with its groups", () => {
  assert.deepEqual(resolveUser({ imageUser: "", passwd, group }), {
    uid: 0,
    gid: 0,
    additionalGids: [0],
    name: "root",
  });
  assert.deepEqual(resolveUser({ imageUser: "app", passwd, group }), {
    uid: 1000,
    gid: 1000,
    additionalGids: [1000, 2000],
    name: "app",
  });
  assert.deepEqual(resolveUser({ imageUser: "1000", passwd, group }).additionalGids, [1000, 2000]);
  assert.deepEqual(resolveUser({ imageUser: "app:nogroup", passwd, group }).gid, 65534);
  assert.deepEqual(resolveUser({ imageUser: "4242:4343", passwd: "", group: "" }), {
    uid: 4242,
    gid: 4343,
    additionalGids: [4343],
    name: undefined,
  });
  assert.throws(() => resolveUser({ imageUser: "ghost", passwd, group }), UserError);
  assert.throws(() => resolveUser({ imageUser: "app:ghosts", passwd, group }), /unable to find group ghosts/);
});

Deno.test("resolveUser() lets runAsUser, runAsGroup and supplementalGroups override the image", () => {
  assert.deepEqual(
    resolveUser({ imageUser: "app:nogroup", runAsUser: 65534, passwd, group }),
    { uid: 65534, gid: 65534, additionalGids: [65534], name: "nobody" },
    "runAsUser ignores the image's group",
  );
  assert.deepEqual(
    resolveUser({ imageUser: "app", runAsGroup: 3000, supplementalGroups: [4000, 2000], passwd, group }),
    { uid: 1000, gid: 3000, additionalGids: [3000, 2000, 4000], name: "app" },
  );
});

Deno.test("runAsNonRootViolation() refuses root as the kubelet does, with its messages", () => {
  const where = { pod: "p_default(u)", container: "c" };
  assert.equal(runAsNonRootViolation(undefined, undefined, "", where), undefined);
  assert.match(
    runAsNonRootViolation(true, undefined, "", where)!,
    /^container has runAsNonRoot and image will run as root \(pod: "p_default\(u\)", container: c\)$/,
  );
  assert.match(runAsNonRootViolation(true, undefined, "0:0", where)!, /image will run as root/);
  assert.match(
    runAsNonRootViolation(true, undefined, "app", where)!,
    /non-numeric user \(app\), cannot verify user is non-root/,
  );
  assert.equal(runAsNonRootViolation(true, undefined, "1000", where), undefined);
  assert.match(runAsNonRootViolation(true, 0, "1000", where)!, /runAsUser breaks non-root policy/);
  assert.equal(runAsNonRootViolation(true, 1000, "", where), undefined);
});
