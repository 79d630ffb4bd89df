import assert from "node:assert/strict";
import { defaultSeccompProfile } from "../../../plugins/runtime/oci/seccomp.ts";
import { isBpfProgram, isRuntimeAnnotation, SeccompBpfCache } from "./seccomp_bpf.ts";

Deno.test("isRuntimeAnnotation() and isBpfProgram() tell crun's annotations and whole BPF programs", () => {
  assert.ok(isRuntimeAnnotation("run.oci.seccomp_bpf_data"));
  assert.ok(!isRuntimeAnnotation("io.kubernetes.container.hash"));
  assert.ok(isBpfProgram(new Uint8Array(16)));
  assert.ok(!isBpfProgram(new Uint8Array(0)));
  assert.ok(!isBpfProgram(new Uint8Array(12)), "not a whole number of 8-byte instructions");
});

Deno.test("SeccompBpfCache learns crun's compiled filter per profile, and ignores what is not one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = new SeccompBpfCache();
    const profile = defaultSeccompProfile(["CAP_CHOWN"]);
    const other = defaultSeccompProfile(["CAP_CHOWN", "CAP_SYS_ADMIN"]);
    const bytes = Uint8Array.from({ length: 24 }, (_, i) => i);
    await Deno.writeFile(`${dir}/good.bpf`, bytes);
    await Deno.writeFile(`${dir}/torn.bpf`, bytes.subarray(0, 20));
    await cache.learn(other, `${dir}/torn.bpf`);
    await cache.learn(other, `${dir}/missing.bpf`);
    assert.equal(cache.lookup(other), undefined);
    await cache.learn(profile, `${dir}/good.bpf`);
    assert.equal(cache.size, 1);
    const b64 = cache.lookup(defaultSeccompProfile(["CAP_CHOWN"]));
    assert.deepEqual(Uint8Array.from(atob(b64!), (c) => c.charCodeAt(0)), bytes);
    assert.equal(cache.lookup(other), undefined, "another profile has its own filter");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
