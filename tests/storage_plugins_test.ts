/**
 * Storage plugins (issues 6 and 8): the storage conformance suite against the built-in
 * `local-path` component, in a runner process as nodes run it, with the real `host-mount`
 * capability (node/hostcaps/host_mount.ts) bounded to a scratch root; and a user's storage
 * plugin, scaffolded by `./skiff plugin new storage`, replacing local-path: a StorageClass naming
 * its driver provisions a claim through it and a pod uses the volume.
 * @module
 */
import assert from "node:assert/strict";
import { pushPlugin, scaffold } from "../cli/plugin.ts";
import { R } from "../control/api/client.ts";
import { PLUGINS } from "../control/api/plugins.ts";
import { ensureLocalPathStorage, SR } from "../control/api/storage.ts";
import type { KubeObject } from "../control/api/types.ts";
import { CRUN, freeRange, OCI_ROOT } from "../node/cri/oci/testing.ts";
import { isMountPoint } from "../node/mountns/mount_ns.ts";
import { ensureRuntimeClass, type NodeAgent, nodeRuntime, startNodeAgent } from "../node/mod.ts";
import { BUSYBOX_STATIC, busyboxImage, pushImage } from "./fixtures/oci/images.ts";
import { DOCKER_REGISTRY } from "./registry.ts";
import { startTestControlPlane } from "./test_control_plane.ts";
import { storageImpl } from "../node/hostcaps/storage_conformance.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { runTest } from "../plugins/host/conformance.ts";
import { NODE } from "./fixtures/build.ts";
import { eventually, ROOT, testWith } from "./harness.ts";

export const LOCAL_PATH_SOURCE = `${ROOT}/plugins/storage/builtin/local_path/plugin.ts`;

if (NODE.available() && Deno.uid() === 0) {
  runTest(
    "storage",
    "local-path (built-in component, real host-mount)",
    storageImpl(async () => (await buildPlugin({ kind: "storage", source: LOCAL_PATH_SOURCE })).bytes),
  );
}

/** A storage plugin scaffolded by `./skiff plugin new storage <name>`, built (cached by content). */
export async function scaffoldedStoragePlugin(name: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-storage-scaffold-" });
  try {
    await scaffold("storage", name, `${dir}/${name}`);
    return (await buildPlugin({ kind: "storage", source: `${dir}/${name}/plugin.ts` })).bytes;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (NODE.available() && Deno.uid() === 0) {
  runTest(
    "storage",
    "a plugin scaffolded by ./skiff plugin new storage",
    storageImpl(() => scaffoldedStoragePlugin("x")),
  );
}

function claim(name: string, storageClassName: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], storageClassName, resources: { requests: { storage: "16Mi" } } },
  };
}

function busybox(name: string, image: string, script: string, claimName: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 0,
      restartPolicy: "Never",
      containers: [{
        name: "c",
        image,
        command: ["sh", "-c", script],
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
    },
  };
}

testWith(
  [OCI_ROOT, CRUN, DOCKER_REGISTRY, BUSYBOX_STATIC, NODE],
  "a user's storage plugin, scaffolded by ./skiff plugin new, replaces local-path for its StorageClass; emptyDir and hostPath go through local-path",
  async () => {
    const base = await startTestControlPlane("skiff-storage-plugin-test-");
    const { client, dataDir, registry } = base;
    let agent: NodeAgent | undefined;
    try {
      await ensureRuntimeClass(client, "oci");
      await ensureLocalPathStorage(client);
      const image = (await pushImage(registry.host, "test/busybox", "1.35", await busyboxImage())).reference;
      // The user's plugin: scaffolded, built, pushed as an OCI Wasm artifact.
      const bytes = await scaffoldedStoragePlugin("tank");
      const digest = await pushPlugin(
        `${registry.host}/plugins/tank:1`,
        bytes,
        "storage",
        `${dataDir}/push-blobs`,
      );
      agent = await startNodeAgent({
        podCIDR: await freeRange(),
        server: base.url,
        name: "node-1",
        dataDir: `${dataDir}/node`,
        port: 0,
        bridge: `skpl${Deno.pid % 10000}`,
        backoff: { baseMs: 300, capMs: 2000 },
        leaseIntervalMs: 2000,
        network: false,
        runtime: nodeRuntime({}),
      });
      await client.create(PLUGINS, {
        apiVersion: "skiff.dev/v1alpha1",
        kind: "Plugin",
        metadata: { name: "tank" },
        spec: {
          kind: "storage",
          image: `${registry.host}/plugins/tank@${digest}`,
          grants: [{ capability: "log" }, { capability: "state" }, { capability: "host-mount" }],
          timeoutSeconds: 5,
        },
      });
      await client.create(SR.storageclasses, {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "tank" },
        provisioner: "tank.storage.skiff.dev",
        volumeBindingMode: "WaitForFirstConsumer",
      });
      await eventually("the tank Plugin to be Loaded on node-1", async () => {
        const p = await client.get(PLUGINS, "", "tank");
        const mine = p.status?.components?.find((c: { name: string }) => c.name === "node/node-1");
        return mine?.conditions?.some((c: { type: string; status: string }) =>
          c.type === "Loaded" && c.status === "True"
        );
      }, 60_000);
      await client.create(R.persistentvolumeclaims, claim("data", "tank"));
      await client.create(R.pods, busybox("writer", image, "echo from-tank > /data/f", "data"));
      await eventually(
        "writer to succeed",
        async () => (await client.tryGet(R.pods, "default", "writer"))?.status?.phase === "Succeeded",
        90_000,
      );
      const pvc = await client.get(R.persistentvolumeclaims, "default", "data");
      assert.equal(pvc.status.phase, "Bound");
      const pv = await client.get(R.persistentvolumes, "", pvc.spec.volumeName);
      assert.equal(pv.spec.csi.driver, "tank.storage.skiff.dev");
      assert.equal(pv.metadata.annotations?.["pv.kubernetes.io/provisioned-by"], "tank.storage.skiff.dev");
      const dir = pv.spec.csi.volumeHandle;
      assert.ok(dir.startsWith(`${dataDir}/node/storage/tank/volumes/`), dir);
      assert.equal(
        await Deno.readTextFile(`${dir}/f`),
        "from-tank\n",
        "the pod wrote through the plugin's bind mount",
      );
      // Reclaim (Delete) goes through the same plugin.
      await client.delete(R.pods, "default", "writer", { gracePeriodSeconds: 0 });
      await eventually(
        "writer to be gone",
        async () => (await client.tryGet(R.pods, "default", "writer")) === null,
      );
      await client.delete(R.persistentvolumeclaims, "default", "data");
      await eventually(
        "the volume to be deleted",
        async () => (await client.tryGet(R.persistentvolumes, "", pvc.spec.volumeName)) === null,
        60_000,
      );
      assert.equal(
        await Deno.stat(dir).then(() => true, () => false),
        false,
        "the plugin removed the directory",
      );

      // emptyDir and hostPath volumes are published by the built-in local-path Plugin.
      const hostDir = `${dataDir}/host-dir`;
      await client.create(R.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "local", namespace: "default" },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{
            name: "c",
            image,
            command: ["sh", "-c", "echo hp > /host/f && echo ed > /scratch/f && exec sleep 3600"],
            volumeMounts: [{ name: "host", mountPath: "/host" }, { name: "scratch", mountPath: "/scratch" }],
          }],
          volumes: [{ name: "host", hostPath: { path: hostDir, type: "DirectoryOrCreate" } }, {
            name: "scratch",
            emptyDir: {},
          }],
        },
      });
      await eventually(
        "local to run",
        async () => (await client.tryGet(R.pods, "default", "local"))?.status?.phase === "Running",
        60_000,
      );
      const uid = (await client.get(R.pods, "default", "local")).metadata.uid;
      const vols = `${dataDir}/node/kubelet/pods/${uid}/volumes`;
      assert.ok(isMountPoint(`${vols}/kubernetes.io~host-path/host`), "the hostPath volume is a bind mount");
      await eventually(
        "the pod's writes",
        async () => (await Deno.readTextFile(`${hostDir}/f`).catch(() => "")) === "hp\n",
      );
      assert.equal(await Deno.readTextFile(`${vols}/kubernetes.io~empty-dir/scratch/f`), "ed\n");
      const records = `${dataDir}/node/kubelet/pods/${uid}/volume-data`;
      for (const r of ["kubernetes.io~host-path/host.json", "kubernetes.io~empty-dir/scratch.json"]) {
        const rec = JSON.parse(await Deno.readTextFile(`${records}/${r}`));
        assert.equal(rec.plugin, "local-path", r);
        assert.equal(rec.published, true, r);
        assert.equal(rec.staging, undefined, `${r}: node-local kinds are not staged`);
      }
      await client.delete(R.pods, "default", "local", { gracePeriodSeconds: 0 });
      await eventually(
        "local's volumes to be torn down",
        async () => !(await Deno.stat(vols).then(() => true, () => false)),
      );
      assert.equal(await Deno.readTextFile(`${hostDir}/f`), "hp\n", "hostPath data stays");
    } finally {
      await agent?.stop();
      await base.close();
    }
  },
);
