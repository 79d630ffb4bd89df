import assert from "node:assert/strict";
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { formatMap, podFieldValue, resourceFieldValue } from "./field_path.ts";
import { milliValue, quantityValue } from "./quantity.ts";

Deno.test("quantityValue() reads decimal, binary and exponent suffixes", () => {
  assert.equal(quantityValue("250m"), 0.25);
  assert.equal(quantityValue("64Mi"), 64 * 2 ** 20);
  assert.equal(quantityValue("1e3"), 1000);
  assert.equal(quantityValue("2k"), 2000);
  assert.equal(quantityValue("12x"), undefined);
  assert.equal(milliValue("0.1"), 100);
});

Deno.test('formatMap() writes sorted key="value" lines as the downward API', () => {
  assert.equal(formatMap({ b: "2", a: 'say "hi"' }), 'a="say \\"hi\\""\nb="2"');
});

Deno.test("podFieldValue() allows whole label maps only in volumes", () => {
  const pod: Pod = { metadata: { labels: { x: "1" } } };
  assert.equal(podFieldValue(pod, "metadata.labels", { volume: true }), 'x="1"');
  assert.throws(() => podFieldValue(pod, "metadata.labels"), /unsupported fieldPath/);
  assert.equal(podFieldValue(pod, "metadata.labels['y']"), "");
});

Deno.test("resourceFieldValue() rounds up after dividing and falls back to allocatable", () => {
  const c = { name: "a", resources: { limits: { cpu: "1500m" } } };
  assert.equal(resourceFieldValue(c, { resource: "limits.cpu" }, {}), "2");
  assert.equal(resourceFieldValue(c, { resource: "limits.memory", divisor: "1Gi" }, { memory: "3Gi" }), "3");
  assert.throws(
    () => resourceFieldValue(c, { resource: "limits.gpu" }, {}),
    /unsupported container resource/,
  );
});
