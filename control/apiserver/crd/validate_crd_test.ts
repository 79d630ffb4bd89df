import assert from "node:assert/strict";
import type { CustomResourceDefinition, JSONSchemaProps } from "./types.ts";
import { defaultCrd, hoist, validateCrd } from "./validate_crd.ts";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer", default: 1 },
        color: { type: "string", enum: ["red", "blue"] },
        selector: { type: "string" },
      },
    },
    status: { type: "object", properties: { replicas: { type: "integer" } } },
  },
};

function widgets(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      names: { plural: "widgets", kind: "Widget", shortNames: ["wd"], categories: ["all"] },
      scope: "Namespaced",
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: structuredClone(schema) },
        subresources: {
          status: {},
          scale: {
            specReplicasPath: ".spec.replicas",
            statusReplicasPath: ".status.replicas",
            labelSelectorPath: ".status.selector",
          },
        },
        additionalPrinterColumns: [{ name: "Replicas", type: "integer", jsonPath: ".spec.replicas" }],
      }],
    },
  };
}

/** `field: message` of each cause of a defaulted CRD. */
function errors(crd: CustomResourceDefinition, old?: CustomResourceDefinition): string[] {
  return validateCrd(defaultCrd(crd), old && defaultCrd(old)).map((c) => `${c.field}: ${c.message}`);
}

Deno.test("validateCrd() accepts a valid CRD", () => {
  assert.deepEqual(errors(widgets()), []);
});

Deno.test("defaultCrd() defaults singular, listKind, conversion and storedVersions as upstream", () => {
  const crd = defaultCrd(widgets());
  assert.equal(crd.spec.names!.singular, "widget");
  assert.equal(crd.spec.names!.listKind, "WidgetList");
  assert.deepEqual(crd.spec.conversion, { strategy: "None" });
  assert.deepEqual(crd.status!.storedVersions, ["v1"]);
});

Deno.test("validateCrd() requires metadata.name to be <plural>.<group>", () => {
  const crd = widgets();
  crd.metadata.name = "gadgets.example.com";
  assert.deepEqual(errors(crd), [
    `metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group`,
  ]);
});

Deno.test("validateCrd() rejects two storage versions", () => {
  const crd = widgets();
  crd.spec.versions!.push({ ...structuredClone(crd.spec.versions![0]), name: "v2" });
  const causes = validateCrd(defaultCrd(crd));
  assert.equal(causes.length, 2);
  assert.equal(causes[0].field, "spec.versions");
  assert.equal(causes[0].reason, "FieldValueInvalid");
  assert.match(
    causes[0].message!,
    /^Invalid value: \[.*\]: must have exactly one version marked as storage version$/,
  );
  // Upstream stores only the first storage version, then finds the second missing from storedVersions.
  assert.deepEqual(causes[1], {
    reason: "FieldValueInvalid",
    field: "status.storedVersions",
    message: 'Invalid value: ["v1"]: must have the storage version v2',
  });
});

Deno.test("validateCrd() rejects a CRD without a storage version, also in status.storedVersions", () => {
  const crd = widgets();
  crd.spec.versions![0].storage = false;
  assert.deepEqual(errors(crd).map((e) => e.replace(/\[\{.*\}\]/, "[...]")), [
    "spec.versions: Invalid value: [...]: must have exactly one version marked as storage version",
    "status.storedVersions: Invalid value: null: must have at least one stored version",
  ]);
});

Deno.test("validateCrd() requires a schema for every version", () => {
  const crd = widgets();
  delete crd.spec.versions![0].schema;
  assert.deepEqual(errors(crd), ["spec.versions[0].schema.openAPIV3Schema: Required value"]);
});

Deno.test("validateCrd() reports a single version's schema errors under spec.validation, as upstream", () => {
  const crd = widgets();
  delete crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec.type;
  assert.deepEqual(errors(crd), [
    "spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
  ]);
});

Deno.test("validateCrd() reports errors per version when the versions' schemas differ", () => {
  const crd = widgets();
  const v2 = structuredClone(crd.spec.versions![0]);
  v2.name = "v2";
  v2.storage = false;
  v2.schema!.openAPIV3Schema!.properties!.extra = {};
  crd.spec.versions!.push(v2);
  assert.deepEqual(errors(crd), [
    "spec.versions[1].schema.openAPIV3Schema.properties[extra].type: Required value: must not be empty for specified object fields",
  ]);
});

Deno.test("validateCrd() rejects an unknown scope and a group without a dot", () => {
  const crd = widgets();
  crd.spec.scope = "Global";
  assert.deepEqual(errors(crd), [
    'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
  ]);
  const g = widgets();
  g.spec.group = "example";
  g.metadata.name = "widgets.example";
  assert.deepEqual(errors(g), [
    'spec.group: Invalid value: "example": should be a domain with at least one dot',
  ]);
});

Deno.test("validateCrd() validates names with apimachinery's DNS-1035 message", () => {
  const crd = widgets();
  crd.spec.names!.plural = "Widgets";
  crd.metadata.name = "Widgets.example.com";
  const dns1035 =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an " +
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for " +
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  const e = errors(crd);
  assert.ok(e.includes(`spec.names.plural: Invalid value: "Widgets": ${dns1035}`), e.join("\n"));
  assert.ok(
    e.some((m) =>
      m.startsWith(`metadata.name: Invalid value: "Widgets.example.com": a lowercase RFC 1123 subdomain`)
    ),
  );
  const k = widgets();
  k.spec.names!.listKind = "Widget";
  assert.deepEqual(errors(k), [
    'spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same',
  ]);
});

Deno.test("validateCrd() checks scale subresource paths", () => {
  const crd = widgets();
  crd.spec.versions![0].subresources!.scale = {
    specReplicasPath: ".replicas",
    statusReplicasPath: "status.replicas",
  };
  assert.deepEqual(errors(crd), [
    'spec.subresources.scale.specReplicasPath: Invalid value: ".replicas": should be a json path under .spec',
    'spec.subresources.scale.statusReplicasPath: Invalid value: "status.replicas": must be a simple json path starting with .',
  ]);
});

Deno.test("validateCrd() checks printer columns, with upstream's JSONPath field name", () => {
  const crd = widgets();
  crd.spec.versions![0].additionalPrinterColumns = [{ name: "X", type: "float", format: "hex" }];
  assert.deepEqual(errors(crd), [
    'spec.additionalPrinterColumns[0].type: Invalid value: "float": must be one of boolean,date,integer,number,string',
    'spec.additionalPrinterColumns[0].format: Invalid value: "hex": must be one of byte,date,date-time,double,float,int32,int64,password',
    "spec.additionalPrinterColumns[0].JSONPath: Required value",
  ]);
});

Deno.test("validateCrd() restricts the root schema when the status subresource is enabled", () => {
  const crd = widgets();
  crd.spec.versions![0].schema!.openAPIV3Schema!.minProperties = 1;
  const e = errors(crd);
  assert.equal(e.length, 1);
  assert.match(
    e[0],
    /^spec\.validation\.openAPIV3Schema: Invalid value: .*: only \[Description Type Format .* XValidations\] fields are allowed at the root of the schema if the status subresource is enabled$/,
  );
});

Deno.test("validateCrd() forbids $ref, uniqueItems and properties beside additionalProperties", () => {
  const crd = widgets();
  const spec = crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec;
  spec.properties!.list = { type: "array", items: { type: "string" }, uniqueItems: true };
  spec.properties!.ref = { type: "object", $ref: "#/definitions/x" };
  spec.additionalProperties = { type: "string" };
  const e = errors(crd);
  const p = "spec.validation.openAPIV3Schema.properties[spec]";
  assert.ok(
    e.includes(
      `${p}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    ),
    e.join("\n"),
  );
  assert.ok(
    e.includes(
      `${p}.properties[list].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
    ),
  );
  assert.ok(e.includes(`${p}.properties[ref].$ref: Forbidden: $ref is not supported`));
});

Deno.test("validateCrd() only allows name and generateName under the root metadata", () => {
  const crd = widgets();
  crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.metadata = {
    type: "object",
    properties: { labels: { type: "object" } },
  };
  assert.deepEqual(errors(crd), [
    "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
  ]);
});

Deno.test("validateCrd() forbids structure inside anyOf", () => {
  const crd = widgets();
  crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec.anyOf = [{
    type: "object",
    required: ["color"],
  }];
  assert.deepEqual(errors(crd), [
    "spec.validation.openAPIV3Schema.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
  ]);
});

Deno.test("validateCrd() requires defaults to match their schema and to be pruned", () => {
  const crd = widgets();
  const props = crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec.properties!;
  props.replicas.default = "one";
  props.color.default = "green";
  assert.deepEqual(errors(crd), [
    'spec.validation.openAPIV3Schema.properties[spec].properties[color].default: Unsupported value: "green": supported values: "red", "blue"',
    'spec.validation.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: "string":  in body must be of type integer: "string"',
  ]);
  const pruned = widgets();
  pruned.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec.default = { replicas: 1, bogus: true };
  assert.deepEqual(errors(pruned), [
    'spec.validation.openAPIV3Schema.properties[spec].default: Invalid value: {"bogus":true,"replicas":1}: must not have unknown fields',
  ]);
});

Deno.test("validateCrd() requires list-map keys and scalar key fields", () => {
  const crd = widgets();
  crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec.properties!.ports = {
    type: "array",
    "x-kubernetes-list-type": "map",
    items: { type: "object", properties: { port: { type: "integer" } } },
  };
  assert.deepEqual(errors(crd), [
    "spec.validation.openAPIV3Schema.properties[spec].properties[ports].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
  ]);
});

Deno.test("validateCrd() rejects spec.preserveUnknownFields: true", () => {
  const crd = widgets();
  crd.spec.preserveUnknownFields = true;
  delete crd.spec.versions![0].schema!.openAPIV3Schema!.properties!.spec.properties!.replicas.default;
  assert.deepEqual(errors(crd), [
    "spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
  ]);
});

Deno.test("validateCrd() requires a webhook client config for Webhook conversion", () => {
  const crd = widgets();
  crd.spec.conversion = { strategy: "Webhook" };
  assert.deepEqual(errors(crd), [
    "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook",
    "spec.conversion.conversionReviewVersions: Required value",
  ]);
});

Deno.test("validateCrd() requires the approval annotation for *.k8s.io groups", () => {
  const crd = widgets();
  crd.spec.group = "gateway.networking.k8s.io";
  crd.metadata.name = "widgets.gateway.networking.k8s.io";
  assert.deepEqual(errors(crd), [
    'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
  ]);
  crd.metadata.annotations = {
    "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/3328",
  };
  assert.deepEqual(errors(crd), []);
});

Deno.test("validateCrd() on update keeps group and plural immutable, and scope once established", () => {
  const old = defaultCrd(widgets());
  old.status!.conditions = [{ type: "Established", status: "True" }];
  const crd = widgets();
  crd.spec.group = "example.org";
  crd.spec.scope = "Cluster";
  crd.status = structuredClone(old.status);
  assert.deepEqual(errors(crd, old), [
    'spec.scope: Invalid value: "Cluster": field is immutable',
    'spec.group: Invalid value: "example.org": field is immutable',
  ]);
});

Deno.test("validateCrd() on update requires previously stored versions to stay in spec.versions", () => {
  const old = defaultCrd(widgets());
  const crd = widgets();
  crd.spec.versions![0].name = "v2";
  assert.deepEqual(errors(crd, old), [
    'status.storedVersions[0]: Invalid value: "v1": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions',
  ]);
});

Deno.test("hoist() lifts per-version fields that are identical in every version", () => {
  const v = widgets().spec.versions![0];
  const h = hoist([v, { ...structuredClone(v), name: "v2", additionalPrinterColumns: [] }]);
  assert.deepEqual(h.validation, v.schema);
  assert.deepEqual(h.subresources, v.subresources);
  assert.equal(h.columns, undefined);
  assert.equal(h.versions[0].schema, undefined);
  assert.deepEqual(h.versions[0].additionalPrinterColumns, v.additionalPrinterColumns);
});
