/**
 * The admission conformance suite: what every admission plugin must do, whatever its policy.
 * @module
 */
import assert from "node:assert/strict";
import type { Case } from "../host/conformance.ts";
import { toWitRequest } from "./binding.ts";

function review(operation: string, object: unknown, oldObject?: unknown, kind = "Pod", resource = "pods") {
  return toWitRequest({
    uid: crypto.randomUUID(),
    kind: { group: "", version: "v1", kind },
    resource: { group: "", version: "v1", resource },
    operation,
    name: "c1",
    namespace: "default",
    userInfo: { username: "conformance", groups: ["system:authenticated"] },
    object,
    oldObject,
  });
}

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "c1", namespace: "default", labels: { team: "a" } },
  spec: { containers: [{ name: "c", image: "registry.example/app:1.0", resources: { limits: { cpu: "1", memory: "64Mi" } } }] },
};

type Answer = { allowed: boolean; message: string; code: number; patch: string | null; warnings: string[] };

export const admissionCases: Case[] = [
  {
    name: "configure accepts {} and the plugin answers a CREATE with a well-formed response",
    async fn(newImpl) {
      await using p = await newImpl("{}");
      const a = (await p.call("validate", review("CREATE", POD))) as Answer;
      assert.equal(typeof a.allowed, "boolean");
      if (!a.allowed) assert.ok(a.message.length > 0, "a denial says why");
    },
  },
  {
    name: "configure refuses settings that are not JSON",
    async fn(newImpl) {
      await assert.rejects(newImpl("{not json"), /configure failed/);
    },
  },
  {
    name: "a DELETE (no object) gets an answer, not a trap",
    async fn(newImpl) {
      await using p = await newImpl();
      const a = (await p.call("validate", review("DELETE", null, POD))) as Answer;
      assert.equal(typeof a.allowed, "boolean");
    },
  },
  {
    name: "a kind it does not police (ConfigMap) gets an answer",
    async fn(newImpl) {
      await using p = await newImpl();
      const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1", namespace: "default" }, data: { a: "b" } };
      const a = (await p.call("validate", review("CREATE", cm, undefined, "ConfigMap", "configmaps"))) as Answer;
      assert.equal(typeof a.allowed, "boolean");
    },
  },
  {
    name: "answers are deterministic: the same request twice gets the same answer (idempotent)",
    async fn(newImpl) {
      await using p = await newImpl();
      const bad = structuredClone(POD);
      bad.spec.containers[0] = { name: "c", image: "app", resources: {} as never };
      const r = review("CREATE", bad);
      assert.deepEqual(await p.call("validate", r), await p.call("validate", r));
    },
  },
  {
    name: "mutate answers no patch or a JSON Patch",
    async fn(newImpl) {
      await using p = await newImpl();
      const a = (await p.call("mutate", review("CREATE", POD))) as Answer;
      if (a.patch !== null) assert.ok(Array.isArray(JSON.parse(a.patch)));
    },
  },
];
