/**
 * Bad input gets a Kubernetes Status with the right code and reason, and nothing is stored.
 */
import assert from "node:assert/strict";
import { startControlPlane } from "../control/mod.ts";
import { tempDir } from "./harness.ts";

interface Answer {
  code: number;
  body: {
    kind?: string;
    reason?: string;
    message?: string;
    code?: number;
    details?: { causes?: { field?: string; message?: string }[] };
  };
}

async function call(url: string, method: string, path: string, body?: string, contentType = "application/json"): Promise<Answer> {
  const res = await fetch(url + path, { method, headers: body !== undefined ? { "Content-Type": contentType } : {}, body });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { code: res.status, body: parsed };
}

function expectStatus(a: Answer, code: number, reason: string, message?: RegExp) {
  assert.equal(a.code, code, JSON.stringify(a.body));
  assert.equal(a.body.kind, "Status");
  assert.equal(a.body.code, code);
  assert.equal(a.body.reason, reason);
  if (message) assert.match(a.body.message ?? "", message);
}

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("bad input is answered with the right Status and nothing is stored", async (t) => {
  await using dir = await tempDir("skiff-bad-input-");
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0, compactionIntervalMs: 0 });
  const url = cp.url;
  const stored = async () => (await (await fetch(url + CM)).json()).items.map((i: { metadata: { name: string } }) => i.metadata.name);
  try {
    await t.step("malformed JSON → 400", async () => {
      expectStatus(await call(url, "POST", CM, '{"apiVersion": "v1", "kind": '), 400, "BadRequest", /not valid JSON/);
    });
    await t.step("malformed YAML → 400", async () => {
      expectStatus(await call(url, "POST", CM, "metadata: [unclosed", "application/yaml"), 400, "BadRequest", /not valid YAML/);
    });
    await t.step("an unknown content type → 415", async () => {
      expectStatus(await call(url, "POST", CM, "<xml/>", "application/xml"), 415, "UnsupportedMediaType");
    });
    await t.step("a body that is not an object → 400", async () => {
      expectStatus(await call(url, "POST", CM, "[1,2]"), 400, "BadRequest");
    });
    await t.step("the wrong kind or apiVersion → 400", async () => {
      expectStatus(
        await call(url, "POST", CM, JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" } })),
        400,
        "BadRequest",
        /the kind in the data \(Secret\) does not match the expected kind \(ConfigMap\)/,
      );
      expectStatus(
        await call(url, "POST", CM, JSON.stringify({ apiVersion: "apps/v1", kind: "ConfigMap", metadata: { name: "x" } })),
        400,
        "BadRequest",
        /API version in the data \(apps\/v1\) does not match the expected API version \(v1\)/,
      );
    });
    await t.step("an invalid name → 422 Invalid with a cause on metadata.name", async () => {
      const a = await call(url, "POST", CM, JSON.stringify({ metadata: { name: "Not_Valid" } }));
      expectStatus(a, 422, "Invalid", /ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain/);
      assert.equal(a.body.details?.causes?.[0].field, "metadata.name");
    });
    await t.step("a missing name → 422 Invalid", async () => {
      expectStatus(await call(url, "POST", CM, JSON.stringify({ data: { a: "1" } })), 422, "Invalid", /name or generateName is required/);
    });
    await t.step("unknown fields with fieldValidation=Strict → 400 naming them", async () => {
      expectStatus(
        await call(url, "POST", CM + "?fieldValidation=Strict", JSON.stringify({ metadata: { name: "x" }, bogus: 1, data: { a: "1" } })),
        400,
        "BadRequest",
        /strict decoding error: unknown field "bogus"/,
      );
    });
    await t.step("an oversize object → 413", async () => {
      const big = { metadata: { name: "huge" }, data: { blob: "x".repeat(900_000) } };
      expectStatus(await call(url, "POST", CM, JSON.stringify(big)), 413, "RequestEntityTooLarge", /too large/);
    });
    await t.step("bad label and field selectors → 400 naming the problem", async () => {
      expectStatus(await call(url, "GET", CM + "?labelSelector=" + encodeURIComponent("a in (")), 400, "BadRequest", /unable to parse requirement/);
      expectStatus(await call(url, "GET", CM + "?labelSelector=" + encodeURIComponent("-bad-=x")), 400, "BadRequest", /unable to parse requirement/);
      expectStatus(await call(url, "GET", CM + "?fieldSelector=spec.nodeName%3Dx"), 400, "BadRequest", /field label not supported: spec.nodeName/);
      expectStatus(await call(url, "GET", "/api/v1/pods?fieldSelector=garbage"), 400, "BadRequest", /invalid selector/);
    });
    await t.step("bad patch documents → 400/415/422, never 500", async () => {
      const ok = await call(url, "POST", CM, JSON.stringify({ metadata: { name: "target" }, data: { a: "1" } }));
      assert.equal(ok.code, 201);
      const target = `${CM}/target`;
      expectStatus(await call(url, "PATCH", target, "{not json", "application/merge-patch+json"), 400, "BadRequest");
      expectStatus(await call(url, "PATCH", target, "[]", "application/merge-patch+json"), 422, "Invalid", /cannot unmarshal array/);
      const badOp = await call(url, "PATCH", target, '[{"op":"explode","path":"/data"}]', "application/json-patch+json");
      assert.ok([400, 422].includes(badOp.code), JSON.stringify(badOp.body));
      assert.equal(badOp.body.kind, "Status");
      const failedTest = await call(url, "PATCH", target, '[{"op":"test","path":"/data/a","value":"2"}]', "application/json-patch+json");
      expectStatus(failedTest, 422, "Invalid", /the server rejected our request due to an error in our request/);
      assert.match(JSON.stringify(failedTest.body.details?.causes), /test failed/);
      expectStatus(await call(url, "PATCH", target, '{"data":{"a":"2"}}', "text/plain"), 415, "UnsupportedMediaType");
      expectStatus(
        await call(url, "PATCH", target, '{"data":{"$patch":"explode"}}', "application/strategic-merge-patch+json"),
        400,
        "BadRequest",
      );
      const after = await (await fetch(url + target)).json();
      assert.deepEqual(after.data, { a: "1" });
    });
    await t.step("a write into a missing namespace → 404, into a path that does not exist → 404", async () => {
      expectStatus(
        await call(url, "POST", "/api/v1/namespaces/nope/configmaps", JSON.stringify({ metadata: { name: "x" } })),
        404,
        "NotFound",
        /namespaces "nope" not found/,
      );
      expectStatus(await call(url, "GET", "/apis/nothing.example/v1/things"), 404, "NotFound");
    });
    await t.step("nothing from the bad requests was stored", async () => {
      assert.deepEqual(await stored(), ["target"]);
    });
  } finally {
    await cp.close();
  }
});
