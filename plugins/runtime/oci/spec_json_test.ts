import { deepStrictEqual, strictEqual } from "node:assert";
import { defaultSeccompProfile } from "./seccomp.ts";
import { DEFAULT_CAPABILITIES } from "./spec.ts";
import { specJson } from "./spec_json.ts";

const spec = (seccomp?: unknown) => ({
  ociVersion: "1.0.2",
  process: { args: ["/bin/true"], env: ['A="seccomp":0}}'] },
  annotations: { "x": '{"seccomp":1}' },
  linux: { cgroupsPath: "/skiff/p", ...(seccomp ? { seccomp } : {}), rootfsPropagation: "rprivate" },
});

Deno.test("specJson() writes the same config as JSON.stringify once parsed, with the shared profile", () => {
  const s = spec(defaultSeccompProfile(DEFAULT_CAPABILITIES));
  deepStrictEqual(JSON.parse(specJson(s)), JSON.parse(JSON.stringify(s)));
  // The second container with the same profile: the profile's text is reused.
  const t = spec(defaultSeccompProfile([...DEFAULT_CAPABILITIES]));
  strictEqual(t.linux.seccomp, s.linux.seccomp);
  deepStrictEqual(JSON.parse(specJson(t)), JSON.parse(JSON.stringify(t)));
});

Deno.test("specJson() is JSON.stringify for a config without a shared profile", () => {
  const none = spec();
  strictEqual(specJson(none), JSON.stringify(none));
  const own = spec({ defaultAction: "SCMP_ACT_ALLOW", architectures: [], syscalls: [] });
  strictEqual(specJson(own), JSON.stringify(own));
});
