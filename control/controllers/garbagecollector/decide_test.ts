import assert from "node:assert/strict";
import type { KubeObject, OwnerReference } from "../../api/types.ts";
import {
  decideDependent,
  decideOwner,
  FOREGROUND,
  ORPHAN,
  type OwnerState,
  ownerStateOf,
  ownPolicy,
  withoutOwners,
} from "./decide.ts";

const ref = (uid: string, block = true): OwnerReference => ({
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  name: `rs-${uid}`,
  uid,
  controller: true,
  blockOwnerDeletion: block,
});

const obj = (
  name: string,
  refs: OwnerReference[] = [],
  extra: Partial<KubeObject["metadata"]> = {},
): KubeObject => ({
  metadata: { name, namespace: "default", uid: `uid-${name}`, ownerReferences: refs, ...extra },
});

const states = (entries: [string, OwnerState][]) => new Map(entries);

Deno.test("ownerStateOf() calls an absent owner, or one with another uid, dangling", () => {
  assert.equal(ownerStateOf(null, ref("a")), "dangling");
  assert.equal(ownerStateOf({ metadata: { name: "rs-a", uid: "other" } }, ref("a")), "dangling");
  assert.equal(ownerStateOf({ metadata: { name: "rs-a", uid: "a" } }, ref("a")), "solid");
});

Deno.test("ownerStateOf() calls an owner deleted in the foreground waiting, in the background still solid", () => {
  const deleting = { deletionTimestamp: "2026-01-01T00:00:00Z" };
  assert.equal(
    ownerStateOf({ metadata: { uid: "a", ...deleting, finalizers: [FOREGROUND] } }, ref("a")),
    "waiting",
  );
  assert.equal(
    ownerStateOf({ metadata: { uid: "a", ...deleting, finalizers: ["example.com/keep"] } }, ref("a")),
    "solid",
  );
});

Deno.test("decideDependent() leaves an object with only solid owners alone", () => {
  assert.deepEqual(decideDependent(obj("p", [ref("a")]), states([["a", "solid"]]), false), {
    action: "none",
  });
});

Deno.test("decideDependent() deletes an object whose only owner is gone, in the background", () => {
  assert.deepEqual(decideDependent(obj("p", [ref("a")]), states([["a", "dangling"]]), false), {
    action: "delete",
    propagationPolicy: "Background",
  });
});

Deno.test("decideDependent() honours the object's own orphan or foreground finalizer when deleting it", () => {
  assert.equal(ownPolicy(obj("p", [], { finalizers: [ORPHAN] })), "Orphan");
  const d = decideDependent(
    obj("p", [ref("a")], { finalizers: [FOREGROUND] }),
    states([["a", "dangling"]]),
    false,
  );
  assert.deepEqual(d, { action: "delete", propagationPolicy: "Foreground" });
});

Deno.test("decideDependent() drops dangling references when a solid owner remains", () => {
  const d = decideDependent(
    obj("p", [ref("a"), ref("b")]),
    states([["a", "dangling"], ["b", "solid"]]),
    false,
  );
  assert.deepEqual(d, { action: "patch", ownerReferences: [ref("b")] });
});

Deno.test("decideDependent() unblocks a waiting owner when a solid owner keeps the object", () => {
  const d = decideDependent(
    obj("p", [ref("a"), ref("b")]),
    states([["a", "waiting"], ["b", "solid"]]),
    false,
  );
  assert.deepEqual(d, {
    action: "patch",
    ownerReferences: [{ ...ref("a"), blockOwnerDeletion: false }, ref("b")],
  });
  // Already non-blocking: nothing to do.
  const quiet = decideDependent(
    obj("p", [ref("a", false), ref("b")]),
    states([["a", "waiting"], ["b", "solid"]]),
    false,
  );
  assert.deepEqual(quiet, { action: "none" });
});

Deno.test("decideDependent() deletes in the foreground an object with dependents whose owner is waiting", () => {
  assert.deepEqual(decideDependent(obj("rs", [ref("d")]), states([["d", "waiting"]]), true), {
    action: "delete",
    propagationPolicy: "Foreground",
  });
  assert.deepEqual(decideDependent(obj("pod", [ref("d")]), states([["d", "waiting"]]), false), {
    action: "delete",
    propagationPolicy: "Background",
  });
});

Deno.test("decideDependent() does nothing for an object already being deleted", () => {
  const d = decideDependent(
    obj("p", [ref("a")], { deletionTimestamp: "2026-01-01T00:00:00Z" }),
    states([["a", "dangling"]]),
    false,
  );
  assert.deepEqual(d, { action: "none" });
});

Deno.test("decideOwner() orphans the dependents first, then removes the orphan finalizer", () => {
  const owner = obj("rs", [], { uid: "a", deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: [ORPHAN] });
  const pod = obj("p", [ref("a")]);
  assert.deepEqual(decideOwner(owner, [pod, obj("other", [ref("z")])]), {
    action: "orphan",
    dependents: [pod],
  });
  assert.deepEqual(decideOwner(owner, []), { action: "removeFinalizer", finalizer: ORPHAN });
});

Deno.test("decideOwner() waits for blocking dependents before removing foregroundDeletion", () => {
  const owner = obj("d", [], {
    uid: "a",
    deletionTimestamp: "2026-01-01T00:00:00Z",
    finalizers: [FOREGROUND],
  });
  const blocking = obj("rs1", [ref("a", true)]);
  const free = obj("rs2", [ref("a", false)]);
  assert.deepEqual(decideOwner(owner, [blocking, free]), { action: "wait", blocking: [blocking] });
  assert.deepEqual(decideOwner(owner, [free]), { action: "removeFinalizer", finalizer: FOREGROUND });
});

Deno.test("decideOwner() does not re-delete blocking dependents that are deleting their own dependents", () => {
  const owner = obj("d", [], {
    uid: "a",
    deletionTimestamp: "2026-01-01T00:00:00Z",
    finalizers: [FOREGROUND],
  });
  const busy = obj("rs1", [ref("a")], {
    deletionTimestamp: "2026-01-01T00:00:01Z",
    finalizers: [FOREGROUND],
  });
  assert.deepEqual(decideOwner(owner, [busy]), { action: "wait", blocking: [] });
});

Deno.test("decideOwner() ignores owners that are not being deleted", () => {
  assert.deepEqual(decideOwner(obj("rs", [], { uid: "a" }), [obj("p", [ref("a")])]), { action: "none" });
});

Deno.test("withoutOwners() removes the references to the given uids", () => {
  assert.deepEqual(withoutOwners([ref("a"), ref("b")], new Set(["a"])), [ref("b")]);
});
