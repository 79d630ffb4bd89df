import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { decodeProtobuf, messageForKind } from "./decode.ts";
import { schemaRoot, UNKNOWN } from "./schema.ts";
import { MAGIC } from "./to_json.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);

const fixture = (name: string) => Deno.readFileSync(new URL(`${name}.pb`, TESTDATA));
// deno-lint-ignore no-explicit-any
const decoded = (name: string): any => decodeProtobuf(fixture(name));
const expected = (name: string) => JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, TESTDATA)));

/** Fixtures with a `.json` twin: kubectl's `--dry-run=client -o json` of the same command. */
const WITH_JSON = [...Deno.readDirSync(TESTDATA)]
  .filter((e) => e.name.endsWith(".json"))
  .map((e) => e.name.slice(0, -5))
  .sort();

/** Builds a body around an envelope given as a plain object. */
function envelope(fields: Record<string, unknown>): Uint8Array {
  const bytes = schemaRoot().lookupType(UNKNOWN).encode(fields).finish();
  return new Uint8Array([...MAGIC, ...bytes]);
}

function assertBadRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${e}`);
    assert.equal(e.code, 400);
    assert.equal(e.status.reason, "BadRequest");
    assert.match(e.status.message ?? "", message);
    return true;
  });
}

Deno.test("the captured fixtures cover the kubectl create commands the decoder must handle", () => {
  for (const name of ["configmap", "secret", "deployment", "namespace", "service", "job", "cronjob"]) {
    assert.ok(WITH_JSON.includes(name), `testdata/${name}.json is missing`);
  }
});

for (const name of WITH_JSON) {
  Deno.test(`decodeProtobuf() turns kubectl 1.32's ${name} body into the JSON kubectl would have sent`, () => {
    assert.deepEqual(decodeProtobuf(fixture(name)), expected(name));
  });
}

Deno.test("decodeProtobuf() keeps a zero replicas count and drops Go's always-written zero fields", () => {
  const d = decoded("deployment");
  assert.equal(d.spec.replicas, 0);
  assert.deepEqual(d.spec.strategy, {});
  assert.deepEqual(d.spec.template.spec.containers[0].ports, [{ containerPort: 8080 }]);
  assert.equal("generation" in d.metadata, false);
  assert.equal("namespace" in d.metadata, false);
  assert.equal(d.metadata.creationTimestamp, null);
});

Deno.test("decodeProtobuf() gives Secret and ConfigMap binary data as base64 of the exact bytes", () => {
  const binary = "AP/+gH8Kwyg="; // 00 ff fe 80 7f 0a c3 28: not UTF-8
  assert.equal(decoded("secret").data.bin, binary);
  assert.equal(decoded("secret").data.user, btoa("admin"));
  assert.equal(decoded("configmap_binary").binaryData.bin, binary);
});

Deno.test("decodeProtobuf() gives an IntOrString as a number or a string", () => {
  const ports = decoded("service").spec.ports;
  assert.equal(ports[0].targetPort, 8080);
  assert.equal(ports[1].targetPort, "https");
  assert.equal(decoded("pdb").spec.minAvailable, "50%");
  assert.equal(decoded("pdb_int").spec.maxUnavailable, 1);
});

Deno.test("decodeProtobuf() decodes kubectl create token's TokenRequest", () => {
  assert.deepEqual(decodeProtobuf(fixture("token")), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: { creationTimestamp: null },
    spec: { audiences: ["api"], expirationSeconds: 900 },
    status: { token: "", expirationTimestamp: null },
  });
});

Deno.test("decodeProtobuf() decodes kubectl auth can-i's SelfSubjectAccessReview", () => {
  assert.deepEqual(decodeProtobuf(fixture("can_i")), {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    metadata: { creationTimestamp: null },
    spec: {
      resourceAttributes: {
        namespace: "default",
        verb: "create",
        group: "apps",
        resource: "deployments",
        subresource: "scale",
      },
    },
    status: { allowed: false },
  });
});

Deno.test("decodeProtobuf() decodes kubectl auth can-i --list's SelfSubjectRulesReview", () => {
  assert.deepEqual(decodeProtobuf(fixture("can_i_list")), {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectRulesReview",
    metadata: { creationTimestamp: null },
    spec: { namespace: "default" },
    status: { incomplete: false },
  });
});

Deno.test("decodeProtobuf() decodes kubectl auth whoami's SelfSubjectReview", () => {
  assert.deepEqual(decodeProtobuf(fixture("whoami")), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    metadata: { creationTimestamp: null },
    status: { userInfo: {} },
  });
});

Deno.test("decodeProtobuf() refuses a body without the k8s\\0 prefix with a 400", () => {
  assertBadRequest(
    () => decodeProtobuf(new TextEncoder().encode('{"kind":"ConfigMap"}')),
    /does not start with "k8s\\x00"/,
  );
  assertBadRequest(() => decodeProtobuf(new Uint8Array()), /does not start with/);
  assertBadRequest(() => decodeProtobuf(MAGIC.subarray(0, 3)), /does not start with/);
});

Deno.test("decodeProtobuf() refuses a truncated body with a 400 and never throws anything else", () => {
  const whole = fixture("deployment");
  assertBadRequest(() => decodeProtobuf(whole.subarray(0, 100)), /malformed/);
  for (let n = 0; n < whole.length; n++) {
    try {
      decodeProtobuf(whole.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof ApiError && e.code === 400, `prefix of ${n} bytes threw ${e}`);
    }
  }
});

Deno.test("decodeProtobuf() refuses a kind the table does not hold with upstream's wording", () => {
  const body = envelope({
    typeMeta: { apiVersion: "example.com/v1", kind: "Widget" },
    raw: new Uint8Array([0x0a, 0]),
  });
  assertBadRequest(
    () => decodeProtobuf(body),
    /no kind "Widget" is registered for version "example.com\/v1"/,
  );
  const old = envelope({ typeMeta: { apiVersion: "batch/v1beta1", kind: "CronJob" }, raw: new Uint8Array() });
  assertBadRequest(() => decodeProtobuf(old), /no kind "CronJob" is registered for version "batch\/v1beta1"/);
});

Deno.test("decodeProtobuf() refuses an envelope without a kind", () => {
  assertBadRequest(() => decodeProtobuf(envelope({ raw: new Uint8Array() })), /'Kind' is missing/);
});

Deno.test("decodeProtobuf() refuses an object message that is not valid protobuf", () => {
  // Field 1 with wire type 7 does not exist.
  const body = envelope({
    typeMeta: { apiVersion: "v1", kind: "ConfigMap" },
    raw: new Uint8Array([0x0f, 0x01]),
  });
  assertBadRequest(() => decodeProtobuf(body), /ConfigMap object is malformed/);
});

Deno.test("decodeProtobuf() refuses a content encoding it does not implement", () => {
  const body = envelope({
    typeMeta: { apiVersion: "v1", kind: "ConfigMap" },
    raw: new Uint8Array(),
    contentEncoding: "gzip",
  });
  assertBadRequest(() => decodeProtobuf(body), /content encoding "gzip"/);
});

Deno.test("decodeProtobuf() reads an envelope that carries JSON", () => {
  const raw = new TextEncoder().encode('{"metadata":{"name":"j"},"data":{"a":"b"}}');
  const body = envelope({
    typeMeta: { apiVersion: "v1", kind: "ConfigMap" },
    raw,
    contentType: "application/json",
  });
  assert.deepEqual(decodeProtobuf(body), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "j" },
    data: { a: "b" },
  });
});

Deno.test("messageForKind() finds DeleteOptions under whatever group version the client used", () => {
  const meta = "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions";
  assert.equal(messageForKind("apps/v1", "DeleteOptions"), meta);
  assert.equal(messageForKind("v1", "DeleteOptions"), meta);
  assert.equal(messageForKind("apps/v1", "Deployment"), "k8s.io.api.apps.v1.Deployment");
  assert.equal(messageForKind("apps/v1", "Widget"), undefined);
});

/** One length-delimited field: tag, length, bytes (lengths here stay below 2^21). */
function wrap(field: number, inner: Uint8Array): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
    return [...out, n];
  };
  return new Uint8Array([...varint((field << 3) | 2), ...varint(inner.length), ...inner]);
}

Deno.test("decodeProtobuf() refuses a schema nested past protobufjs's recursion limit with a 400", () => {
  // JSONSchemaProps.items (24) → JSONSchemaPropsOrArray.schema (1) → JSONSchemaProps ..., 1000 deep.
  let props: Uint8Array = new Uint8Array();
  for (let i = 0; i < 1000; i++) props = wrap(24, wrap(1, props));
  const crd = wrap(2, wrap(7, wrap(4, wrap(1, props)))); // spec.versions[0].schema.openAPIV3Schema
  const body = envelope({
    typeMeta: { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" },
    raw: crd,
  });
  assertBadRequest(() => decodeProtobuf(body), /max depth exceeded/);
});
