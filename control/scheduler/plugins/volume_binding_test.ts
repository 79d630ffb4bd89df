import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { makePod, nodeInfo, nv, pv } from "../testing.ts";
import { CycleState, type Status } from "../types.ts";
import {
  ERR_RWOP_CONFLICT,
  ERR_UNBOUND_IMMEDIATE,
  ERR_VOLUME_BIND_CONFLICT,
  ERR_VOLUME_NODE_CONFLICT,
  selectedNodePatches,
  volumeBinding,
  type VolumeLister,
} from "./volume_binding.ts";

const pinned = (node: string) => ({
  required: {
    nodeSelectorTerms: [{
      matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }],
    }],
  },
});

function lister(
  objs: {
    claims?: KubeObject[];
    volumes?: KubeObject[];
    classes?: KubeObject[];
    pod: KubeObject;
    others?: KubeObject[];
  },
): VolumeLister {
  return {
    pods: () => [objs.pod, ...(objs.others ?? [])],
    pod: () => objs.pod,
    claim: (_ns, name) => objs.claims?.find((c) => c.metadata.name === name),
    volume: (name) => objs.volumes?.find((v) => v.metadata.name === name),
    volumes: () => objs.volumes ?? [],
    storageClass: (name) => objs.classes?.find((c) => c.metadata.name === name),
  };
}

const claim = (
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
): KubeObject => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: "default", annotations },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
});
const sc = (name: string, mode: string, provisioner = "local-path.skiff.dev"): KubeObject => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name },
  provisioner,
  volumeBindingMode: mode,
} as KubeObject);

function podUsing(...claims: string[]): KubeObject {
  const p = makePod("p");
  p.spec.volumes = claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } }));
  return p;
}

function run(l: VolumeLister, node: string): Status | null {
  const plugin = volumeBinding(l);
  const state = new CycleState();
  const view = pv("p");
  const pre = plugin.preFilter(state, view, undefined as never);
  if (pre && "code" in pre) return pre;
  return plugin.filter(state, view, nodeInfo(nv(node)));
}

Deno.test("VolumeBinding skips pods without claims and rejects missing or unbound Immediate claims", () => {
  assert.equal(run(lister({ pod: makePod("p") }), "a")?.code, "Skip");
  assert.deepEqual(run(lister({ pod: podUsing("gone") }), "a")?.reasons, [
    'persistentvolumeclaim "gone" not found',
  ]);
  const l = lister({
    pod: podUsing("c"),
    claims: [claim("c", { storageClassName: "fast" })],
    classes: [sc("fast", "Immediate")],
  });
  assert.deepEqual(run(l, "a")?.reasons, [ERR_UNBOUND_IMMEDIATE]);
});

Deno.test("VolumeBinding keeps a pod with a bound node-local volume on that node", () => {
  const l = lister({
    pod: podUsing("c"),
    claims: [claim("c", { volumeName: "v" })],
    volumes: [{
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "v" },
      spec: { nodeAffinity: pinned("a") },
    }],
  });
  assert.equal(run(l, "a"), null);
  assert.deepEqual(run(l, "b")?.reasons, [ERR_VOLUME_NODE_CONFLICT]);
});

Deno.test("VolumeBinding lets WaitForFirstConsumer claims go where a provisioner or a volume can serve them", () => {
  const wffc = lister({
    pod: podUsing("c"),
    claims: [claim("c", { storageClassName: "local" })],
    classes: [sc("local", "WaitForFirstConsumer")],
  });
  assert.equal(run(wffc, "a"), null);
  const none = lister({
    pod: podUsing("c"),
    claims: [claim("c", { storageClassName: "manual" })],
    classes: [sc("manual", "WaitForFirstConsumer", "kubernetes.io/no-provisioner")],
    volumes: [{
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "v" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName: "manual",
        nodeAffinity: pinned("a"),
      },
      status: { phase: "Available" },
    }],
  });
  assert.equal(run(none, "a"), null);
  assert.deepEqual(run(none, "b")?.reasons, [ERR_VOLUME_BIND_CONFLICT]);
  const selected = lister({
    pod: podUsing("c"),
    claims: [claim("c", { storageClassName: "local" }, { "volume.kubernetes.io/selected-node": "a" })],
    classes: [sc("local", "WaitForFirstConsumer")],
  });
  assert.deepEqual(run(selected, "b")?.reasons, [ERR_VOLUME_NODE_CONFLICT]);
});

Deno.test("selectedNodePatches() annotates only unbound WaitForFirstConsumer claims", () => {
  const pod = podUsing("wffc", "bound", "immediate");
  const l = lister({
    pod,
    claims: [
      claim("wffc", { storageClassName: "local" }),
      claim("bound", { storageClassName: "local", volumeName: "v" }),
      claim("immediate", { storageClassName: "now" }),
    ],
    classes: [sc("local", "WaitForFirstConsumer"), sc("now", "Immediate")],
  });
  assert.deepEqual([...selectedNodePatches(l, pod, "n1")], [
    ["wffc", { metadata: { annotations: { "volume.kubernetes.io/selected-node": "n1" } } }],
  ]);
});

Deno.test("VolumeBinding refuses a ReadWriteOncePod claim another scheduled pod uses", () => {
  const rwop = claim("c", { accessModes: ["ReadWriteOncePod"], volumeName: "v" });
  const volumes = [{ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "v" }, spec: {} }];
  const other = {
    ...podUsing("c"),
    metadata: { name: "other", namespace: "default", uid: "other" },
  } as KubeObject;
  other.spec = { ...other.spec, nodeName: "a" };
  assert.deepEqual(
    run(lister({ pod: podUsing("c"), claims: [rwop], volumes, others: [other] }), "a")?.reasons,
    [ERR_RWOP_CONFLICT],
  );
  other.status = { phase: "Succeeded" };
  assert.equal(run(lister({ pod: podUsing("c"), claims: [rwop], volumes, others: [other] }), "a"), null);
});
