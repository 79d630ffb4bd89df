import assert from "node:assert/strict";
import { crdConditions, isEstablished, rfc3339, storedVersions } from "./crd_status.ts";
import type { CustomResourceDefinition } from "./types.ts";

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const T1 = T0 + 60_000;

function crd(
  name: string,
  plural: string,
  kind: string,
  extra: Partial<CustomResourceDefinition["spec"]> = {},
): CustomResourceDefinition {
  return {
    metadata: { name: `${plural}.example.com` },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural, singular: name, kind, listKind: `${kind}List` },
      versions: [{ name: "v1", served: true, storage: true }],
      ...extra,
    },
  };
}

/** A stored CRD whose status the server already wrote. */
function established(c: CustomResourceDefinition): CustomResourceDefinition {
  return { ...c, status: crdConditions(c, [], T0) };
}

Deno.test("crdConditions() accepts the names of a new CRD and establishes it", () => {
  const status = crdConditions(crd("widget", "widgets", "Widget"), [], T0);
  assert.deepEqual(status, {
    conditions: [
      {
        type: "NamesAccepted",
        status: "True",
        reason: "NoConflicts",
        message: "no conflicts found",
        lastTransitionTime: "2025-01-02T03:04:05Z",
      },
      {
        type: "Established",
        status: "True",
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
        lastTransitionTime: "2025-01-02T03:04:05Z",
      },
    ],
    acceptedNames: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
    storedVersions: ["v1"],
  });
});

Deno.test("crdConditions() reports a plural conflict with another CRD of the same group", () => {
  const other = established(crd("widget", "widgets", "Widget"));
  const mine = crd("widget2", "widgets", "Widget2");
  mine.metadata.name = "widgets2.example.com";
  const status = crdConditions(mine, [other], T0);
  assert.deepEqual(status.conditions, [
    {
      type: "NamesAccepted",
      status: "False",
      reason: "PluralConflict",
      message: '"widgets" is already in use',
      lastTransitionTime: "2025-01-02T03:04:05Z",
    },
    {
      type: "Established",
      status: "False",
      reason: "NotAccepted",
      message: "not all names are accepted",
      lastTransitionTime: "2025-01-02T03:04:05Z",
    },
  ]);
  assert.equal(status.acceptedNames!.plural, undefined);
  assert.equal(status.acceptedNames!.kind, "Widget2");
  assert.equal(isEstablished({ ...mine, status }), false);
});

Deno.test("crdConditions() reports kind and short-name conflicts, last one winning as upstream", () => {
  const other = established(crd("widget", "widgets", "Widget", {}));
  other.status!.acceptedNames!.shortNames = ["wd"];
  const mine = crd("gadget", "gadgets", "Widget");
  mine.spec.names!.shortNames = ["wd"];
  const status = crdConditions(mine, [other], T0);
  // Kind and ListKind both conflict; upstream overwrites the condition, so ListKind is reported.
  assert.equal(status.conditions![0].reason, "ListKindConflict");
  assert.equal(status.conditions![0].message, '"WidgetList" is already in use');
  assert.equal(status.acceptedNames!.shortNames, undefined);
  assert.equal(status.acceptedNames!.kind, undefined);
  assert.equal(status.acceptedNames!.plural, "gadgets");
});

Deno.test("crdConditions() ignores CRDs of other groups", () => {
  const other = established(crd("widget", "widgets", "Widget"));
  other.spec.group = "other.io";
  const status = crdConditions(crd("widget", "widgets", "Widget"), [other], T0);
  assert.equal(status.conditions![0].status, "True");
});

Deno.test("crdConditions() keeps transition times when nothing changes and keeps Established after a later conflict", () => {
  const stored = established(crd("widget", "widgets", "Widget"));
  const same = crdConditions(stored, [], T1);
  assert.deepEqual(same.conditions, stored.status!.conditions);

  const other = established(crd("gizmo", "gizmos", "Gizmo"));
  const renamed = structuredClone(stored);
  renamed.spec.names!.shortNames = ["gizmo"];
  const status = crdConditions(renamed, [other], T1);
  assert.deepEqual(status.conditions!.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]), [
    ["NamesAccepted", "False", "ShortNamesConflict", rfc3339(T1)],
    ["Established", "True", "InitialNamesAccepted", rfc3339(T0)],
  ]);
});

Deno.test("crdConditions() appends a new storage version to storedVersions", () => {
  const stored = established(crd("widget", "widgets", "Widget"));
  const next = structuredClone(stored);
  next.spec.versions = [{ name: "v1", served: true, storage: false }, {
    name: "v2",
    served: true,
    storage: true,
  }];
  assert.deepEqual(crdConditions(next, [], T1).storedVersions, ["v1", "v2"]);
  assert.deepEqual(storedVersions(next), ["v2"]);
});

Deno.test("crdConditions() adds the API approval condition for protected groups", () => {
  const c = crd("widget", "widgets", "Widget");
  c.spec.group = "x.k8s.io";
  c.metadata.annotations = { "api-approved.kubernetes.io": "unapproved, experimental" };
  const cond = crdConditions(c, [], T0).conditions!.find((x) =>
    x.type === "KubernetesAPIApprovalPolicyConformant"
  );
  assert.deepEqual(cond, {
    type: "KubernetesAPIApprovalPolicyConformant",
    status: "False",
    reason: "UnapprovedAnnotation",
    message: 'not approved: "unapproved, experimental"',
    lastTransitionTime: "2025-01-02T03:04:05Z",
  });
});
