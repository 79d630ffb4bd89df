import assert from "node:assert/strict";
import {
  matchingTolerations,
  minTolerationMs,
  noExecuteTaintFor,
  noScheduleTaintsFor,
  reconcileTaints,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  toleratesTaint,
} from "./taints.ts";

const unreachable = { key: TAINT_UNREACHABLE, effect: "NoExecute" };

Deno.test("toleratesTaint() matches key, effect and value as upstream", () => {
  assert.ok(toleratesTaint({ operator: "Exists" }, unreachable));
  assert.ok(toleratesTaint({ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute" }, unreachable));
  assert.ok(
    !toleratesTaint({ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoSchedule" }, unreachable),
  );
  assert.ok(toleratesTaint({ key: "k", value: "v" }, { key: "k", value: "v", effect: "NoExecute" }));
  assert.ok(
    !toleratesTaint({ key: "k", operator: "Equal", value: "w" }, {
      key: "k",
      value: "v",
      effect: "NoExecute",
    }),
  );
  assert.ok(!toleratesTaint({ key: "k", operator: "Gt" }, { key: "k", effect: "NoExecute" }));
});

Deno.test("matchingTolerations() needs every taint tolerated", () => {
  const t = [{ key: TAINT_UNREACHABLE, operator: "Exists", tolerationSeconds: 5 }];
  assert.deepEqual(matchingTolerations([unreachable], t), { all: true, used: t });
  assert.deepEqual(matchingTolerations([unreachable, { key: "x", effect: "NoExecute" }], t), {
    all: false,
    used: [],
  });
});

Deno.test("minTolerationMs() is the shortest tolerationSeconds, 0 for none or non-positive, -1 for forever", () => {
  assert.equal(minTolerationMs([{ tolerationSeconds: 30 }, { tolerationSeconds: 10 }, {}]), 10_000);
  assert.equal(minTolerationMs([{ tolerationSeconds: -1 }]), 0);
  assert.equal(minTolerationMs([{}]), -1);
  assert.equal(minTolerationMs([]), 0);
});

Deno.test("noScheduleTaintsFor() and noExecuteTaintFor() follow the node conditions", () => {
  assert.deepEqual(
    noScheduleTaintsFor(
      [{ type: "Ready", status: "Unknown" }, { type: "DiskPressure", status: "True" }],
      true,
    ).map((t) => t.key),
    [
      TAINT_UNREACHABLE,
      "node.kubernetes.io/disk-pressure",
      TAINT_UNSCHEDULABLE,
    ],
  );
  assert.deepEqual(noExecuteTaintFor("False"), { key: TAINT_NOT_READY, effect: "NoExecute" });
  assert.deepEqual(noExecuteTaintFor("Unknown"), unreachable);
  assert.equal(noExecuteTaintFor("True"), null);
});

Deno.test("reconcileTaints() swaps managed taints, keeps others and keeps timeAdded of a taint that stays", () => {
  const current = [
    { key: "team", value: "a", effect: "NoSchedule" },
    { key: TAINT_NOT_READY, effect: "NoExecute", timeAdded: "T0" },
  ];
  const next = reconcileTaints(current, [{ key: TAINT_UNREACHABLE, effect: "NoSchedule" }], {
    kind: "set",
    taint: unreachable,
  }, "T1");
  assert.deepEqual(next, [
    { key: "team", value: "a", effect: "NoSchedule" },
    { key: TAINT_UNREACHABLE, effect: "NoSchedule" },
    { key: TAINT_UNREACHABLE, effect: "NoExecute", timeAdded: "T1" },
  ]);
  assert.equal(
    reconcileTaints(next!, [{ key: TAINT_UNREACHABLE, effect: "NoSchedule" }], {
      kind: "set",
      taint: unreachable,
    }, "T2"),
    null,
  );
  // "keep" leaves NoExecute taints as they are, even when not wanted.
  assert.equal(reconcileTaints(current, [], { kind: "keep" }, "T1"), null);
  assert.deepEqual(reconcileTaints(current, [], { kind: "set", taint: null }, "T1"), [{
    key: "team",
    value: "a",
    effect: "NoSchedule",
  }]);
});
