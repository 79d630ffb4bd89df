import assert from "node:assert/strict";
import { MalformedResult } from "../host/protocol.ts";
import { mutateValidate, reviewAnswer, toWitRequest, type WitAdmissionResponse } from "./binding.ts";

const request = toWitRequest({
  uid: "u1",
  kind: { group: "", version: "v1", kind: "Pod" },
  resource: { group: "", version: "v1", resource: "pods" },
  operation: "CREATE",
  userInfo: { username: "alice" },
  object: { metadata: { name: "p" } },
});
const allow = (over: Partial<WitAdmissionResponse> = {}) => ({ allowed: true, message: "", code: 0, patch: null, warnings: [], ...over });

/** A guest whose mutate answers `mutate` and whose validate records what it was given. */
function guest(mutate: unknown) {
  const validated: unknown[] = [];
  const iface = {
    mutate: () => mutate,
    validate: (r: unknown) => (validated.push(r), allow({ warnings: ["checked"] })),
  };
  return { iface, validated };
}

Deno.test("mutateValidate() validates the same request when mutate allows without a patch", () => {
  const g = guest(allow());
  const out = mutateValidate(g.iface, request);
  assert.deepEqual(out.mutate, allow());
  assert.deepEqual(out.validate, allow({ warnings: ["checked"] }));
  assert.equal(g.validated.length, 1);
  assert.equal((g.validated[0] as { object: string }).object, request.object);
});

Deno.test("mutateValidate() leaves validate to the caller when mutate patches or denies", () => {
  const patched = guest(allow({ patch: '[{"op":"add","path":"/metadata/labels","value":{}}]' }));
  assert.equal(mutateValidate(patched.iface, request).validate, null);
  const denied = guest({ allowed: false, message: "no", code: 403, warnings: [] });
  assert.equal(mutateValidate(denied.iface, request).validate, null);
  assert.equal(patched.validated.length + denied.validated.length, 0);
});

Deno.test("mutateValidate() refuses a malformed mutate answer", () => {
  assert.throws(() => mutateValidate(guest({ allowed: "yes" }).iface, request), MalformedResult);
});

Deno.test("reviewAnswer() wraps each phase's answer as an AdmissionReview; mutate-validate adds `validated`", () => {
  const patch = '[{"op":"add","path":"/metadata/labels","value":{}}]';
  assert.deepEqual(reviewAnswer("u1", "validate", allow()), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "u1", allowed: true },
  });
  assert.equal((reviewAnswer("u1", "mutate", allow({ patch })).response as { patchType?: string }).patchType, "JSONPatch");
  // validate ignores a patch, as a validating webhook's response.
  assert.equal((reviewAnswer("u1", "validate", allow({ patch })).response as { patch?: string }).patch, undefined);
  const both = reviewAnswer("u1", "mutate-validate", { mutate: allow(), validate: { allowed: false, message: "no", code: 403, patch: null, warnings: [] } });
  assert.deepEqual(both.response, { uid: "u1", allowed: true });
  assert.deepEqual(both.validated, { uid: "u1", allowed: false, status: { code: 403, message: "no", reason: "Forbidden" } });
  assert.equal("validated" in reviewAnswer("u1", "mutate-validate", { mutate: allow({ patch }), validate: null }), false);
});
