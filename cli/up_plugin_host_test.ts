import assert from "node:assert/strict";
import type { PluginObject } from "../control/api/plugins.ts";
import { PLUGIN_HOST_USER, pluginHostRbacObjects } from "./plugin_host_credential.ts";
import { needsPluginHost } from "./up_plugin_host.ts";

const plugin = (kind: string, deleting = false) =>
  ({
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name: "p", ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    spec: { kind, image: "x" },
  }) as unknown as PluginObject;

Deno.test("needsPluginHost() is true for admission and scheduler Plugins only, not being deleted", () => {
  assert.ok(needsPluginHost(plugin("admission")));
  assert.ok(needsPluginHost(plugin("scheduler")));
  assert.ok(!needsPluginHost(plugin("network")));
  assert.ok(!needsPluginHost(plugin("runtime")));
  assert.ok(!needsPluginHost(plugin("admission", true)));
});

Deno.test("the plugin host's role reads Plugins and writes their status, and nothing else", () => {
  const { role, binding } = pluginHostRbacObjects();
  assert.deepEqual(role.rules, [
    { apiGroups: ["skiff.dev"], resources: ["plugins"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["skiff.dev"], resources: ["plugins/status"], verbs: ["update", "patch"] },
  ]);
  assert.equal(binding.roleRef.name, role.metadata.name);
  const [s] = binding.subjects;
  assert.equal(`system:serviceaccount:${s.namespace}:${s.name}`, PLUGIN_HOST_USER);
});
