import assert from "node:assert/strict";
import { effectiveFormat, isDate, isDateTime, matchesFormat } from "./formats.ts";

Deno.test("isDateTime() accepts RFC 3339 timestamps and rejects the rest", () => {
  for (const ok of ["2024-02-29T10:00:00Z", "2024-01-01t00:00:00.123+02:00", "2024-01-01T23:59:59-07:00"]) {
    assert.ok(isDateTime(ok), ok);
  }
  for (
    const bad of ["2023-02-29T10:00:00Z", "2024-01-01", "2024-01-01T24:00:00Z", "2024-01-01T10:00:00", "now"]
  ) {
    assert.ok(!isDateTime(bad), bad);
  }
  assert.ok(isDate("2024-12-31"));
  assert.ok(!isDate("2024-13-01"));
});

Deno.test("matchesFormat() checks byte, uuid, ipv4, cidr, hostname and duration", () => {
  assert.ok(matchesFormat("byte", "aGVsbG8="));
  assert.ok(!matchesFormat("byte", "aGVsbG8"));
  assert.ok(matchesFormat("uuid", "123e4567-e89b-12d3-a456-426614174000"));
  assert.ok(!matchesFormat("uuid", "123"));
  assert.ok(matchesFormat("ipv4", "10.0.0.1"));
  assert.ok(!matchesFormat("ipv4", "10.0.0.256"));
  assert.ok(matchesFormat("cidr", "10.0.0.0/8"));
  assert.ok(matchesFormat("cidr", "fd00::/64"));
  assert.ok(!matchesFormat("cidr", "10.0.0.0/33"));
  assert.ok(matchesFormat("hostname", "example.com"));
  assert.ok(!matchesFormat("hostname", "-bad-"));
  assert.ok(matchesFormat("duration", "1h30m"));
  assert.ok(matchesFormat("duration", "3 days"));
  assert.ok(!matchesFormat("duration", "soon"));
  assert.ok(matchesFormat("password", "anything"));
});

Deno.test("effectiveFormat() drops formats the server does not support, as upstream strips them", () => {
  assert.equal(effectiveFormat({ type: "string", format: "date-time" }), "date-time");
  assert.equal(effectiveFormat({ type: "string", format: "color" }), "");
  assert.equal(effectiveFormat({ type: "integer", format: "int32" }), "int32");
  assert.equal(effectiveFormat({ type: "integer", format: "date-time" }), "");
  assert.equal(effectiveFormat({ type: "number", format: "double" }), "double");
  assert.equal(effectiveFormat({ type: "boolean", format: "int32" }), "");
});
