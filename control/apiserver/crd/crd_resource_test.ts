import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { crdResourceDefs } from "./crd_resource.ts";
import type { CustomResourceDefinition } from "./types.ts";

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

function crontabs(): CustomResourceDefinition {
  return {
    metadata: { name: "crontabs.stable.example.com" },
    spec: {
      group: "stable.example.com",
      scope: "Namespaced",
      names: {
        plural: "crontabs",
        singular: "crontab",
        kind: "CronTab",
        listKind: "CronTabList",
        shortNames: ["ct"],
        categories: ["all"],
      },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: {
                    cronSpec: { type: "string" },
                    image: { type: "string" },
                    replicas: { type: "integer", default: 1 },
                    ports: {
                      type: "array",
                      "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["port"],
                      items: {
                        type: "object",
                        required: ["port"],
                        properties: { port: { type: "integer" }, name: { type: "string" } },
                      },
                    },
                    tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
                    template: {
                      type: "object",
                      "x-kubernetes-embedded-resource": true,
                      "x-kubernetes-preserve-unknown-fields": true,
                    },
                    extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                  },
                },
                status: {
                  type: "object",
                  properties: { replicas: { type: "integer" }, selector: { type: "string" } },
                },
              },
            },
          },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: ".spec.replicas",
              statusReplicasPath: ".status.replicas",
              labelSelectorPath: ".status.selector",
            },
          },
          additionalPrinterColumns: [
            { name: "Spec", type: "string", jsonPath: ".spec.cronSpec" },
            { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
            { name: "Port", type: "integer", jsonPath: ".spec.ports[*].port", priority: 1 },
            { name: "Extra", type: "string", jsonPath: ".spec.extra" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          selectableFields: [{ jsonPath: ".spec.image" }],
        },
        {
          name: "v1beta1",
          served: true,
          storage: false,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
        { name: "v1alpha1", served: false, storage: false, schema: { openAPIV3Schema: { type: "object" } } },
      ],
    },
  };
}

function cronTab(spec: Record<string, unknown>, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: { name: "my-cron", namespace: "default", creationTimestamp: "2025-06-01T11:55:00Z" },
    spec,
    ...extra,
  };
}

Deno.test("crdResourceDefs() serves one ResourceDef per served version with the CRD's names", () => {
  const defs = crdResourceDefs(crontabs());
  assert.deepEqual(defs.map((d) => d.version), ["v1", "v1beta1"]);
  const v1 = defs[0];
  assert.deepEqual(
    [v1.group, v1.kind, v1.listKind, v1.plural, v1.singular, v1.namespaced, v1.generation],
    ["stable.example.com", "CronTab", "CronTabList", "crontabs", "crontab", true, true],
  );
  assert.deepEqual(v1.shortNames, ["ct"]);
  assert.deepEqual(v1.categories, ["all"]);
  assert.deepEqual(v1.subresources, {
    status: true,
    scale: {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    },
  });
  assert.equal(defs[1].subresources, undefined);
});

Deno.test("crdResourceDefs() prefers status.acceptedNames over spec.names", () => {
  const crd = crontabs();
  crd.status = {
    acceptedNames: { plural: "crontabs", singular: "crontab", kind: "CronTab", listKind: "CronTabList" },
  };
  crd.spec.names!.shortNames = ["ct", "cron"];
  assert.equal(crdResourceDefs(crd)[0].shortNames, undefined);
});

Deno.test("crdResourceDefs() builds the table from additionalPrinterColumns, Name first", () => {
  const table = crdResourceDefs(crontabs())[0].table!;
  assert.deepEqual(table.columns.map((c) => [c.name, c.type, c.priority]), [
    ["Name", "string", 0],
    ["Spec", "string", 0],
    ["Replicas", "integer", 0],
    ["Port", "integer", 1],
    ["Extra", "string", 0],
    ["Age", "date", 0],
  ]);
  assert.equal(table.columns[0].format, "name");
  assert.equal(
    table.columns[1].description,
    "Custom resource definition column (in JSONPath format): .spec.cronSpec",
  );
  const obj = cronTab({
    cronSpec: "* * * * */5",
    replicas: 2.7,
    ports: [{ port: 80 }, { port: 443 }],
    extra: { b: 1, a: [true] },
  });
  assert.deepEqual(table.cells(obj, NOW), ["my-cron", "* * * * */5", 2, 80, '{"a":[true],"b":1}', "5m"]);
  assert.deepEqual(table.cells(cronTab({}), NOW), ["my-cron", null, null, null, null, "5m"]);
});

Deno.test("crdResourceDefs() renders bad and missing dates like upstream", () => {
  const table = crdResourceDefs(crontabs())[0].table!;
  const bad = cronTab({}, { metadata: { name: "x", creationTimestamp: "yesterday" } });
  assert.equal(table.cells(bad, NOW)[5], "<invalid>");
  const none = cronTab({}, { metadata: { name: "x", creationTimestamp: "" } });
  assert.equal(table.cells(none, NOW)[5], "<unknown>");
});

Deno.test("crdResourceDefs() without printer columns serves Name and Age, Age typed date", () => {
  const table = crdResourceDefs(crontabs())[1].table!;
  assert.deepEqual(table.columns.map((c) => [c.name, c.type]), [["Name", "string"], ["Age", "date"]]);
  assert.match(table.columns[1].description!, /^CreationTimestamp is a timestamp/);
  assert.deepEqual(table.cells(cronTab({}), NOW), ["my-cron", "5m"]);
});

Deno.test("ResourceDef.validate() reports schema errors with upstream's messages", () => {
  const def = crdResourceDefs(crontabs())[0];
  assert.deepEqual(def.validate!(cronTab({ replicas: "3" })), [{
    reason: "FieldValueTypeInvalid",
    field: "spec.replicas",
    message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  }, {
    // The scale subresource's own check of specReplicasPath, also reported upstream.
    reason: "FieldValueInvalid",
    field: ".spec.replicas",
    message: "Invalid value: 0: .spec.replicas accessor error: 3 is of the type string, expected int64",
  }]);
  assert.deepEqual(def.validate!(cronTab({ cronSpec: "x", replicas: 1 })), []);
});

Deno.test("ResourceDef.validate() checks kind and apiVersion first, then metadata.name on create only", () => {
  const def = crdResourceDefs(crontabs())[0];
  assert.deepEqual(
    def.validate!(cronTab({}, { kind: "Other", apiVersion: "stable.example.com/v2" })).map((c) =>
      `${c.field}: ${c.message}`
    ),
    [
      'kind: Invalid value: "Other": must be CronTab',
      'apiVersion: Invalid value: "stable.example.com/v2": must be stable.example.com/v1',
    ],
  );
  const bad = cronTab({}, { metadata: { name: "My_Cron" } });
  assert.equal(def.validate!(bad)[0].field, "metadata.name");
  assert.match(
    def.validate!(bad)[0].message!,
    /^Invalid value: "My_Cron": a lowercase RFC 1123 subdomain must consist of/,
  );
  assert.deepEqual(def.validate!(bad, bad), []);
});

Deno.test("ResourceDef.validate() rejects duplicate set entries and map keys", () => {
  const def = crdResourceDefs(crontabs())[0];
  const obj = cronTab({ tags: ["a", "b", "a"], ports: [{ port: 80, name: "a" }, { port: 80, name: "b" }] });
  assert.deepEqual(def.validate!(obj).map((c) => `${c.field}: ${c.message}`), [
    'spec.tags[2]: Duplicate value: "a"',
    'spec.ports[1]: Duplicate value: {"port":80}',
  ]);
});

Deno.test("ResourceDef.validate() checks embedded resources and scale replicas", () => {
  const def = crdResourceDefs(crontabs())[0];
  const obj = cronTab({ template: { kind: "Pod", metadata: { name: "a/b" } }, replicas: -1 });
  assert.deepEqual(def.validate!(obj).map((c) => `${c.field}: ${c.message}`), [
    ".spec.replicas: Invalid value: -1: should be a non-negative integer",
    "spec.template.apiVersion: Required value",
    "spec.template.metadata.name: Invalid value: \"a/b\": may not contain '/'",
  ]);
  const status = cronTab({}, { status: { selector: 3 } });
  assert.deepEqual(def.validate!(status).map((c) => `${c.field}: ${c.message}`), [
    'status.selector: Invalid value: "integer": status.selector in body must be of type string: "integer"',
    '.status.selector: Invalid value: "": .status.selector accessor error: 3 is of the type int64, expected string',
  ]);
});

Deno.test("ResourceDef.pruneUnknown() and defaults() apply the version's schema", () => {
  const [v1, v1beta1] = crdResourceDefs(crontabs());
  const obj = cronTab({ cronSpec: "x", bogus: 1 }, { status: { replicas: 1, phase: "Up" } });
  assert.deepEqual(v1.pruneUnknown!(obj), ["spec.bogus", "status.phase"]);
  v1.defaults!(obj, { operation: "CREATE" });
  assert.deepEqual(obj.spec, { cronSpec: "x", replicas: 1 });
  const loose = cronTab({ anything: true });
  assert.deepEqual(v1beta1.pruneUnknown!(loose), []);
  assert.deepEqual(loose.spec, { anything: true });
});

Deno.test("ResourceDef.fields() exposes selectable fields by their path", () => {
  const def = crdResourceDefs(crontabs())[0];
  assert.deepEqual(def.fields!(cronTab({ image: "nginx" })), { "spec.image": "nginx" });
  assert.deepEqual(def.fields!(cronTab({})), { "spec.image": "" });
  assert.equal(crdResourceDefs(crontabs())[1].fields, undefined);
});
