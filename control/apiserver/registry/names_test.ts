import assert from "node:assert/strict";
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  nameIsDNSSubdomain,
} from "./names.ts";

Deno.test("isDNS1123Subdomain() returns upstream's exact message", () => {
  assert.deepEqual(isDNS1123Subdomain("Web_1"), [
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.deepEqual(isDNS1123Subdomain("web.example.com"), []);
});

Deno.test("isDNS1123Label() keeps upstream's double space between examples", () => {
  assert.deepEqual(isDNS1123Label("a.b"), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
});

Deno.test("isDNS1123Label() reports length and format separately", () => {
  const errs = isDNS1123Label("a".repeat(64) + "_");
  assert.equal(errs.length, 2);
  assert.equal(errs[0], "must be no more than 63 characters");
});

Deno.test("isDNS1035Label() rejects names starting with a digit", () => {
  assert.equal(isDNS1035Label("1web").length, 1);
  assert.match(isDNS1035Label("1web")[0], /^a DNS-1035 label must consist of/);
  assert.deepEqual(isDNS1035Label("web-1"), []);
});

Deno.test("nameIsDNSSubdomain() allows a trailing dash in a generateName prefix", () => {
  assert.deepEqual(nameIsDNSSubdomain("web-", true), []);
  assert.equal(nameIsDNSSubdomain("web-", false).length, 1);
});

Deno.test("isQualifiedName() validates prefix and name parts", () => {
  assert.deepEqual(isQualifiedName("app.kubernetes.io/name"), []);
  assert.deepEqual(isQualifiedName("/name"), ["prefix part must be non-empty"]);
  assert.match(isQualifiedName("Example.com/x")[0], /^prefix part a lowercase RFC 1123 subdomain/);
  assert.match(isQualifiedName("a/b/c")[0], /^a qualified name must consist of/);
  assert.match(isQualifiedName("-x")[0], /^name part must consist of alphanumeric characters/);
});

Deno.test("isValidLabelValue() allows empty values and rejects bad characters", () => {
  assert.deepEqual(isValidLabelValue(""), []);
  assert.match(isValidLabelValue("a b")[0], /^a valid label must be an empty string/);
});

Deno.test("isConfigMapKey() rejects dot-dot prefixes and slashes", () => {
  assert.deepEqual(isConfigMapKey("..a"), ["must not start with '..'"]);
  assert.equal(isConfigMapKey("a/b").length, 1);
  assert.deepEqual(isConfigMapKey("app.properties"), []);
});

Deno.test("isValidPortName() explains each rule", () => {
  assert.deepEqual(isValidPortName("http"), []);
  assert.deepEqual(isValidPortName("8080"), ["must contain at least one letter (a-z)"]);
  assert.ok(isValidPortName("a--b").includes("must not contain consecutive hyphens"));
});
