/**
 * Persistent storage end to end (issue 8, docs/storage.md): a real control plane (binder and
 * protection controllers, the scheduler's VolumeBinding), a real node agent running crun and the
 * Wasm runtime with the node-side `local-path` provisioner, busybox images in a real registry,
 * and kubectl v1.32. One cluster for the whole file; each scenario is a step.
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { Client, R } from "../control/api/client.ts";
import { ensureLocalPathStorage, SR } from "../control/api/storage.ts";
import type { KubeObject } from "../control/api/types.ts";
import { CRUN, freeRange, OCI_ROOT } from "../node/cri/oci/testing.ts";
import { isMountPoint, parseMountInfo } from "../node/mountns/mount_ns.ts";
import { ensureRuntimeClass, type NodeAgent, nodeRuntime, startNodeAgent } from "../node/mod.ts";
import { fixturePrerequisites } from "./fixtures/build.ts";
import { BUSYBOX_STATIC, busyboxImage, pushImage } from "./fixtures/oci/images.ts";
import { pushFixture } from "./fixtures/push.ts";
import {
  eventually,
  KUBECTL,
  type KubectlResult,
  runKubectl,
  startClusterProcess,
  testWith,
} from "./harness.ts";
import { startTestControlPlane } from "./test_control_plane.ts";
import { DOCKER_REGISTRY } from "./registry.ts";

const PREREQUISITES = [
  OCI_ROOT,
  CRUN,
  KUBECTL,
  DOCKER_REGISTRY,
  BUSYBOX_STATIC,
  ...fixturePrerequisites("hello_c"),
];

interface StorageCluster extends AsyncDisposable {
  client: Client;
  dataDir: string;
  busybox: string;
  wasm: string;
  agent: NodeAgent;
  /** Stops the node agent, leaving its pods running, and starts it again. */
  restartAgent(): Promise<void>;
  /** Starts a second node, `node-2` (no network add-ons), stopped with the cluster. */
  addNode(): Promise<NodeAgent>;
  kubectl(args: string[], stdin?: string): Promise<KubectlResult>;
  apply(...objects: KubeObject[]): Promise<KubectlResult>;
}

async function startStorageCluster(): Promise<StorageCluster> {
  const base = await startTestControlPlane("skiff-storage-test-");
  const { client, dataDir, kubeconfig, registry } = base;
  await ensureRuntimeClass(client, "wasm");
  await ensureRuntimeClass(client, "oci");
  await ensureLocalPathStorage(client);
  let agent2: NodeAgent | undefined;
  const podCIDR = await freeRange();
  const agentOptions = () => ({
    podCIDR,
    server: base.url,
    name: "node-1",
    dataDir: `${dataDir}/node`,
    port: 0,
    bridge: `skst${Deno.pid % 10000}`,
    backoff: { baseMs: 300, capMs: 2000 },
    leaseIntervalMs: 2000,
    runtime: nodeRuntime({ wasm: { deadlineMs: 1500 } }),
  });
  let agent: NodeAgent;
  let busybox: string;
  let wasm: string;
  try {
    busybox = (await pushImage(registry.host, "test/busybox", "1.35", await busyboxImage())).reference;
    wasm = (await pushFixture(registry.host, "hello_c")).reference;
    agent = await startNodeAgent(agentOptions());
  } catch (e) {
    await base.close();
    throw e;
  }
  const kubectl = (args: string[], stdin?: string) => runKubectl(kubeconfig, dataDir, args, { stdin });
  const cluster: StorageCluster = {
    client,
    dataDir,
    busybox,
    wasm,
    agent,
    async addNode() {
      agent2 = await startNodeAgent({
        ...agentOptions(),
        podCIDR: await freeRange(),
        name: "node-2",
        dataDir: `${dataDir}/node2`,
        bridge: `skst${Deno.pid % 10000}b`,
        network: false,
      });
      return agent2;
    },
    async restartAgent() {
      await cluster.agent.stop({ keepPods: true });
      cluster.agent = await startNodeAgent(agentOptions());
    },
    kubectl,
    apply: (...objects) =>
      kubectl(
        ["apply", "-f", "-"],
        objects.map((o) => stringify(o, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" })).join(
          "---\n",
        ),
      ),
    async [Symbol.asyncDispose]() {
      try {
        await agent2?.stop();
        await cluster.agent.stop();
      } finally {
        await base.close();
      }
    },
  };
  return cluster;
}

function claim(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } }, ...spec },
  };
}

function busyboxPod(
  c: StorageCluster,
  name: string,
  script: string,
  claimName: string,
  mount: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 1,
      restartPolicy: "Never",
      containers: [{
        name: "c",
        image: c.busybox,
        command: ["sh", "-c", script],
        volumeMounts: [{ name: "data", mountPath: "/data", ...mount }],
      }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
    },
  };
}

async function events(c: StorageCluster, name: string): Promise<string[]> {
  return (await c.client.list(R.events, "default")).items.filter((e) => e.involvedObject?.name === name)
    .map((e) => `${e.reason}: ${e.message}`);
}

async function phaseOf(c: StorageCluster, pod: string): Promise<string | undefined> {
  return (await c.client.tryGet(R.pods, "default", pod))?.status?.phase;
}

async function waitPodDone(c: StorageCluster, pod: string): Promise<string> {
  const phase = await eventually(`pod ${pod} to finish`, async () => {
    const p = await phaseOf(c, pod);
    return p === "Succeeded" || p === "Failed" ? p : undefined;
  }, 90_000).catch(async (e) => {
    throw new Error(`${e.message}\nevents: ${(await events(c, pod)).join("\n")}`);
  });
  return phase;
}

async function logs(c: StorageCluster, pod: string): Promise<string> {
  const r = await c.kubectl(["logs", pod]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function deletePod(c: StorageCluster, name: string): Promise<void> {
  await c.client.delete(R.pods, "default", name, { gracePeriodSeconds: 0 }).catch(() => {});
  await eventually(
    `pod ${name} to be gone`,
    async () => (await c.client.tryGet(R.pods, "default", name)) === null,
  );
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

testWith(
  PREREQUISITES,
  "persistent storage: classes, binding, provisioning, pods, reclaim, StatefulSets",
  async (t) => {
    await using c = await startStorageCluster();

    await t.step("the default StorageClass local-path and its CSIDriver are served", async () => {
      const r = await c.kubectl(["get", "storageclass"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /local-path \(default\)\s+local-path\.skiff\.dev\s+Delete\s+WaitForFirstConsumer\s+true/,
      );
      const d = await c.kubectl([
        "get",
        "csidriver",
        "local-path.skiff.dev",
        "-o",
        "jsonpath={.spec.attachRequired}",
      ]);
      assert.equal(d.stdout, "false", d.stderr);
    });

    await t.step("bad input is Invalid, with causes", async () => {
      const both = await c.apply(claim("bad-modes", { accessModes: ["ReadWriteOncePod", "ReadWriteOnce"] }));
      assert.notEqual(both.code, 0);
      assert.match(
        both.stderr,
        /is invalid: spec\.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes/,
      );
      const unknown = await c.apply(claim("bad-mode", { accessModes: ["ReadWriteSometimes"] }));
      assert.match(unknown.stderr, /spec\.accessModes: Unsupported value: "ReadWriteSometimes"/);
      const sc = await c.apply({
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "bad" },
        provisioner: "local-path.skiff.dev",
        reclaimPolicy: "Recycle",
      });
      assert.match(
        sc.stderr,
        /reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"/,
      );
      // An unknown class is not invalid: the claim stays Pending with an event (as upstream).
      assert.equal((await c.apply(claim("unknown-class", { storageClassName: "nope" }))).code, 0);
      await eventually(
        "the ProvisioningFailed event of an unknown class",
        async () =>
          (await events(c, "unknown-class")).some((e) =>
            e === 'ProvisioningFailed: storageclass.storage.k8s.io "nope" not found'
          ),
      );
      assert.equal(
        (await c.client.get(R.persistentvolumeclaims, "default", "unknown-class")).status.phase,
        "Pending",
      );
      await c.client.delete(R.persistentvolumeclaims, "default", "unknown-class");
    });

    let pvName = "";
    await t.step(
      "a claim is provisioned on the pod's node and bound; its data outlives the pod",
      async () => {
        assert.equal((await c.apply(claim("data"))).code, 0);
        const created = await c.client.get(R.persistentvolumeclaims, "default", "data");
        assert.equal(created.spec.storageClassName, "local-path", "DefaultStorageClass admission");
        assert.deepEqual(created.metadata.finalizers, ["kubernetes.io/pvc-protection"]);
        await eventually(
          "WaitForFirstConsumer",
          async () =>
            (await events(c, "data")).some((e) =>
              e.startsWith("WaitForFirstConsumer: waiting for first consumer")
            ),
        );
        assert.equal(
          (await c.apply(
            busyboxPod(
              c,
              "writer",
              "echo hello-from-busybox > /data/hello.txt && mkdir -p /data/sub",
              "data",
            ),
          )).code,
          0,
        );
        assert.equal(await waitPodDone(c, "writer"), "Succeeded");
        const bound = await c.client.get(R.persistentvolumeclaims, "default", "data");
        assert.equal(bound.status.phase, "Bound");
        assert.equal(bound.metadata.annotations?.["volume.kubernetes.io/selected-node"], "node-1");
        pvName = bound.spec.volumeName;
        const pv = await c.client.get(R.persistentvolumes, "", pvName);
        assert.equal(pv.status.phase, "Bound");
        assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0], {
          key: "kubernetes.io/hostname",
          operator: "In",
          values: ["node-1"],
        });
        assert.equal(pv.spec.csi.driver, "local-path.skiff.dev");
        assert.ok(
          pv.spec.csi.volumeHandle.startsWith(`${c.dataDir}/node/storage/local-path/`),
          pv.spec.csi.volumeHandle,
        );
        await deletePod(c, "writer");

        assert.equal((await c.apply(busyboxPod(c, "reader", "cat /data/hello.txt", "data"))).code, 0);
        assert.equal(await waitPodDone(c, "reader"), "Succeeded");
        assert.equal(await logs(c, "reader"), "hello-from-busybox\n");
        await deletePod(c, "reader");
      },
    );

    await t.step("readOnly mounts are read-only; subPath mounts a directory of the volume", async () => {
      await c.apply(
        busyboxPod(c, "ro", "touch /data/x && echo wrote || echo refused", "data", { readOnly: true }),
      );
      assert.equal(await waitPodDone(c, "ro"), "Succeeded");
      const ro = await logs(c, "ro");
      assert.match(ro, /touch: \/data\/x: Read-only file system/);
      assert.match(ro, /^refused$/m);
      await deletePod(c, "ro");
      await c.apply(busyboxPod(c, "sub", "echo in-sub > /data/file && ls /data", "data", { subPath: "sub" }));
      assert.equal(await waitPodDone(c, "sub"), "Succeeded");
      assert.equal(await logs(c, "sub"), "file\n");
      const pv = await c.client.get(R.persistentvolumes, "", pvName);
      assert.equal(await Deno.readTextFile(`${pv.spec.csi.volumeHandle}/sub/file`), "in-sub\n");
      await deletePod(c, "sub");
    });

    await t.step("a Wasm pod reads the same volume (preopened read-only)", async () => {
      await c.apply({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "wasm-reader", namespace: "default" },
        spec: {
          runtimeClassName: "wasm",
          restartPolicy: "Never",
          containers: [{
            name: "c",
            image: c.wasm,
            env: [{ name: "CAT", value: "/data/hello.txt" }],
            volumeMounts: [{ name: "data", mountPath: "/data", readOnly: true }],
          }],
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
        },
      });
      assert.equal(await waitPodDone(c, "wasm-reader"), "Succeeded");
      const out = await logs(c, "wasm-reader");
      assert.match(out, /cat \/data\/hello\.txt: hello-from-busybox/);
      assert.match(out, /cannot write \/data\/out\.txt/);
      await deletePod(c, "wasm-reader");
    });

    await t.step("a claim grows when its class allows expansion; shrinking is Invalid", async () => {
      await c.client.patch(R.persistentvolumeclaims, "default", "data", {
        spec: { resources: { requests: { storage: "128Mi" } } },
      }, "merge");
      await eventually("the PV and the claim to grow", async () => {
        const pv = await c.client.get(R.persistentvolumes, "", pvName);
        const pvc = await c.client.get(R.persistentvolumeclaims, "default", "data");
        return pv.spec.capacity.storage === "128Mi" && pvc.status.capacity?.storage === "128Mi";
      });
      const shrink = await c.kubectl([
        "patch",
        "pvc",
        "data",
        "--type=merge",
        "-p",
        '{"spec":{"resources":{"requests":{"storage":"1Mi"}}}}',
      ]);
      assert.notEqual(shrink.code, 0);
      assert.match(
        shrink.stderr,
        /is invalid: spec\.resources\.requests\.storage: Forbidden: field can not be less than status\.capacity/,
      );
    });

    await t.step(
      "reclaimPolicy Delete removes the volume and its data; Retain keeps them Released",
      async () => {
        const dir = (await c.client.get(R.persistentvolumes, "", pvName)).spec.csi.volumeHandle;
        assert.ok(await exists(dir));
        await c.client.delete(R.persistentvolumeclaims, "default", "data");
        await eventually(
          "the Delete volume to be gone",
          async () => (await c.client.tryGet(R.persistentvolumes, "", pvName)) === null,
        );
        assert.equal(await exists(dir), false, "the volume directory is deleted");

        await c.apply({
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: "keep" },
          provisioner: "local-path.skiff.dev",
          reclaimPolicy: "Retain",
          volumeBindingMode: "WaitForFirstConsumer",
        });
        await c.apply(claim("kept", { storageClassName: "keep" }));
        await c.apply(busyboxPod(c, "keeper", "echo kept > /data/f && exec sleep 3600", "kept"));
        await eventually("keeper to run", async () => (await phaseOf(c, "keeper")) === "Running", 90_000);
        const kept = (await c.client.get(R.persistentvolumeclaims, "default", "kept")).spec.volumeName;
        const grow = await c.kubectl([
          "patch",
          "pvc",
          "kept",
          "--type=merge",
          "-p",
          '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}',
        ]);
        assert.match(
          grow.stderr,
          /\(Forbidden\): persistentvolumeclaims "kept" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize/,
        );
        // The claim is in use: deleting it waits for the pod (pvc-protection).
        await c.client.delete(R.persistentvolumeclaims, "default", "kept");
        await new Promise((r) => setTimeout(r, 500));
        assert.ok(
          (await c.client.tryGet(R.persistentvolumeclaims, "default", "kept"))?.metadata.deletionTimestamp,
        );
        await deletePod(c, "keeper");
        await eventually(
          "the claim to be deleted",
          async () => (await c.client.tryGet(R.persistentvolumeclaims, "default", "kept")) === null,
        );
        const released = await eventually("the Retain volume to be Released", async () => {
          const pv = await c.client.get(R.persistentvolumes, "", kept);
          return pv.status.phase === "Released" ? pv : undefined;
        });
        assert.equal(await Deno.readTextFile(`${released.spec.csi.volumeHandle}/f`), "kept\n");
        const table = await c.kubectl(["get", "pv", kept]);
        assert.match(table.stdout, /Retain\s+Released\s+default\/kept\s+keep/);
      },
    );

    await t.step("static volumes bind by class, capacity and access modes", async () => {
      const dir = `${c.dataDir}/static-pv`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/seed`, "static\n");
      await c.apply({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: "static-1", labels: { tier: "gold" } },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce", "ReadOnlyMany"],
          storageClassName: "",
          hostPath: { path: dir },
        },
      });
      await eventually(
        "static-1 to be Available",
        async () => (await c.client.get(R.persistentvolumes, "", "static-1")).status?.phase === "Available",
      );
      await c.apply(claim("too-big", { storageClassName: "", resources: { requests: { storage: "2Gi" } } }));
      await c.apply(claim("fits", { storageClassName: "", selector: { matchLabels: { tier: "gold" } } }));
      const fits = await eventually("fits to be Bound", async () => {
        const pvc = await c.client.get(R.persistentvolumeclaims, "default", "fits");
        return pvc.status.phase === "Bound" ? pvc : undefined;
      });
      assert.equal(fits.spec.volumeName, "static-1");
      assert.equal(fits.status.capacity.storage, "1Gi");
      assert.equal(
        (await c.client.get(R.persistentvolumeclaims, "default", "too-big")).status.phase,
        "Pending",
      );
      await eventually(
        "FailedBinding on too-big",
        async () =>
          (await events(c, "too-big")).some((e) =>
            e.startsWith("FailedBinding: no persistent volumes available")
          ),
      );
      await c.apply(busyboxPod(c, "static-reader", "cat /data/seed", "fits"));
      assert.equal(await waitPodDone(c, "static-reader"), "Succeeded");
      assert.equal(await logs(c, "static-reader"), "static\n");
      await deletePod(c, "static-reader");
    });

    await t.step(
      "a provisioning failure leaves the claim Pending with the driver's message; a retry succeeds",
      async () => {
        // Under the node's volume roots (the plugin's host-mount grant is bounded to them).
        const blocker = `${c.dataDir}/node/storage/not-a-dir`;
        await Deno.writeTextFile(blocker, "");
        await c.apply({
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: "flaky" },
          provisioner: "local-path.skiff.dev",
          volumeBindingMode: "WaitForFirstConsumer",
          parameters: { nodePath: blocker },
        });
        await c.apply(claim("flaky", { storageClassName: "flaky" }));
        await c.apply(busyboxPod(c, "flaky-user", "echo ok > /data/ok", "flaky"));
        await eventually(
          "ProvisioningFailed with the driver's message",
          async () =>
            (await events(c, "flaky")).some((e) =>
              e.startsWith(
                `ProvisioningFailed: failed to provision volume with StorageClass "flaky": failed to create volume directory ${blocker}/`,
              )
            ),
        );
        assert.equal(
          (await c.client.get(R.persistentvolumeclaims, "default", "flaky")).status.phase,
          "Pending",
        );
        await Deno.remove(blocker);
        await Deno.mkdir(blocker);
        assert.equal(await waitPodDone(c, "flaky-user"), "Succeeded");
        assert.equal(
          (await c.client.get(R.persistentvolumeclaims, "default", "flaky")).status.phase,
          "Bound",
        );
        await deletePod(c, "flaky-user");
      },
    );

    await t.step("an agent restart keeps published volumes; publishing again is idempotent", async () => {
      await c.apply(busyboxPod(c, "long", "exec sleep 3600", "flaky"));
      await eventually("long to run", async () => (await phaseOf(c, "long")) === "Running", 90_000);
      const uid = (await c.client.get(R.pods, "default", "long")).metadata.uid;
      const mount = `${c.dataDir}/node/kubelet/pods/${uid}/volumes/kubernetes.io~csi/data/mount`;
      const pv = await c.client.get(
        R.persistentvolumes,
        "",
        (await c.client.get(R.persistentvolumeclaims, "default", "flaky")).spec.volumeName,
      );
      const dir = pv.spec.csi.volumeHandle;
      // A real bind mount of the volume (staged at the node-global mount first), not a link.
      assert.ok(isMountPoint(mount), `${mount} is a mount point`);
      assert.equal((await Deno.lstat(mount)).isSymlink, false);
      assert.equal(await Deno.readTextFile(`${mount}/ok`), "ok\n");
      await c.restartAgent();
      await c.apply(busyboxPod(c, "after-restart", "cat /data/ok", "flaky"));
      assert.equal(await waitPodDone(c, "after-restart"), "Succeeded");
      assert.equal(await logs(c, "after-restart"), "ok\n");
      assert.equal(await phaseOf(c, "long"), "Running");
      assert.ok(isMountPoint(mount), "still mounted after the restart");
      await deletePod(c, "long");
      await deletePod(c, "after-restart");
      await eventually(
        "long's volume to be unpublished",
        async () => !isMountPoint(mount) && !(await exists(mount)),
      );
      // Unstaging follows the last pod's unpublish (after-restart's may come after long's).
      const staged = async () =>
        parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo")).filter((m) =>
          m.mountPoint.startsWith(`${c.dataDir}/node/kubelet/plugins/kubernetes.io/csi/`)
        ).map((m) => m.mountPoint);
      await eventually("the volume to be unstaged", async () => (await staged()).length === 0, 15_000)
        .catch(() => {});
      assert.deepEqual(await staged(), [], "unstaged once no pod uses it");
      assert.equal(await Deno.readTextFile(`${dir}/ok`), "ok\n", "the data stays");
    });

    await t.step(
      "WaitForFirstConsumer provisions on the pod's node; the volume pins later pods there",
      async () => {
        await c.addNode();
        await eventually(
          "node-2 to be Ready",
          async () =>
            (await c.client.get(R.nodes, "", "node-2")).status?.conditions?.some((
              x: { type: string; status: string },
            ) => x.type === "Ready" && x.status === "True"),
        );
        await c.apply(claim("far"));
        const pinned = busyboxPod(c, "pinned", "echo far > /data/f", "far");
        pinned.spec.nodeSelector = { "kubernetes.io/hostname": "node-2" };
        await c.apply(pinned);
        assert.equal(await waitPodDone(c, "pinned"), "Succeeded");
        const pvc = await c.client.get(R.persistentvolumeclaims, "default", "far");
        assert.equal(pvc.metadata.annotations?.["volume.kubernetes.io/selected-node"], "node-2");
        const pv = await c.client.get(R.persistentvolumes, "", pvc.spec.volumeName);
        assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [
          "node-2",
        ]);
        assert.ok(
          pv.spec.csi.volumeHandle.startsWith(`${c.dataDir}/node2/storage/local-path/`),
          pv.spec.csi.volumeHandle,
        );
        // A pod on another node cannot use it; a pod without a selector follows the volume.
        const wrong = busyboxPod(c, "wrong-node", "cat /data/f", "far");
        wrong.spec.nodeSelector = { "kubernetes.io/hostname": "node-1" };
        await c.apply(wrong);
        await eventually(
          "FailedScheduling with the volume node affinity conflict",
          async () =>
            (await events(c, "wrong-node")).some((e) =>
              e.startsWith("FailedScheduling:") && e.includes("node(s) had volume node affinity conflict")
            ),
        );
        await c.apply(busyboxPod(c, "follower", "cat /data/f", "far"));
        assert.equal(await waitPodDone(c, "follower"), "Succeeded");
        assert.equal((await c.client.get(R.pods, "default", "follower")).spec.nodeName, "node-2");
        assert.equal(await logs(c, "follower"), "far\n");
        for (const p of ["pinned", "wrong-node", "follower"]) await deletePod(c, p);
      },
    );

    await t.step("an emptyDir over its sizeLimit gets the pod Evicted", async () => {
      await c.apply({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hog", namespace: "default" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "c",
            image: c.busybox,
            command: ["sh", "-c", "dd if=/dev/zero of=/cache/fill bs=1024 count=3072 && exec sleep 3600"],
            volumeMounts: [{ name: "cache", mountPath: "/cache" }],
          }],
          volumes: [{ name: "cache", emptyDir: { sizeLimit: "1Mi" } }],
        },
      });
      assert.equal(await waitPodDone(c, "hog"), "Failed");
      const p = await c.client.get(R.pods, "default", "hog");
      assert.equal(p.status.reason, "Evicted");
      assert.equal(p.status.message, 'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ');
      assert.ok(
        p.status.conditions.some((x: { type: string; reason: string }) =>
          x.type === "DisruptionTarget" && x.reason === "TerminationByKubelet"
        ),
      );
      assert.ok(
        (await events(c, "hog")).includes(
          'Evicted: Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ',
        ),
      );
      await deletePod(c, "hog");
    });

    await t.step("a StatefulSet's replicas keep their own data across a rolling restart", async () => {
      await c.apply({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "web", namespace: "default" },
        spec: {
          replicas: 3,
          serviceName: "web",
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{
                name: "c",
                image: c.busybox,
                command: [
                  "sh",
                  "-c",
                  'if [ -f /data/boot ]; then echo "restarted: $(cat /data/boot)"; else hostname > /data/boot; echo first; fi; exec sleep 3600',
                ],
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              }],
            },
          },
          volumeClaimTemplates: [{
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } },
          }],
        },
      });
      const status = await c.kubectl(["rollout", "status", "sts/web", "--timeout=90s"]);
      assert.equal(status.code, 0, status.stderr);
      for (const i of [0, 1, 2]) assert.equal(await logs(c, `web-${i}`), "first\n");
      const restart = await c.kubectl(["rollout", "restart", "sts/web"]);
      assert.equal(restart.code, 0, restart.stderr);
      const after = await c.kubectl(["rollout", "status", "sts/web", "--timeout=120s"]);
      assert.equal(after.code, 0, after.stderr);
      for (const i of [0, 1, 2]) {
        const out = await eventually(`web-${i}'s log`, async () => (await logs(c, `web-${i}`)) || undefined);
        assert.equal(out, `restarted: web-${i}\n`);
      }
      const claims = (await c.client.list(R.persistentvolumeclaims, "default")).items
        .filter((x) => x.metadata.name!.startsWith("data-web-")).map((x) =>
          `${x.metadata.name}=${x.status.phase}`
        ).sort();
      assert.deepEqual(claims, ["data-web-0=Bound", "data-web-1=Bound", "data-web-2=Bound"]);
      await c.client.delete(R.statefulsets, "default", "web");
    });

    // Keep the API vocabulary honest: the storage kinds list through kubectl too.
    await t.step("kubectl lists the storage kinds", async () => {
      for (const kind of ["pv", "pvc", "sc", "csidrivers", "volumeattachments"]) {
        const r = await c.kubectl(["get", kind]);
        assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
      }
      assert.ok((await c.client.list(SR.storageclasses)).items.length >= 3);
    });
  },
);

testWith(
  [OCI_ROOT, KUBECTL],
  "./skiff up provisions, binds and reclaims a claim under RBAC (node, scheduler and controller identities)",
  async () => {
    await using up = await startClusterProcess({
      node: true,
      args: ["--no-ingress"],
      readyTimeoutMs: 60_000,
    });
    const ok = (r: KubectlResult) => {
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.match(ok(await up.kubectl(["get", "sc"])), /local-path \(default\)/);
    // The image does not exist: provisioning, binding and publishing happen before the pull.
    ok(
      await up.kubectl(["apply", "-f", "-"], {
        stdin: JSON.stringify({
          apiVersion: "v1",
          kind: "List",
          items: [
            claim("data"),
            {
              apiVersion: "v1",
              kind: "Pod",
              metadata: { name: "app", namespace: "default" },
              spec: {
                terminationGracePeriodSeconds: 0,
                containers: [{
                  name: "c",
                  image: "127.0.0.1:1/none:1",
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                }],
                volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
              },
            },
          ],
        }),
      }),
    );
    const pvName = await eventually("the claim to be Bound", async () => {
      const out = ok(
        await up.kubectl(["get", "pvc", "data", "-o", "jsonpath={.status.phase}/{.spec.volumeName}"]),
      );
      return out.startsWith("Bound/") ? out.slice("Bound/".length) : undefined;
    });
    await eventually("the pod to get past its volumes (to the image pull)", async () => {
      const out = ok(
        await up.kubectl([
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=app",
          "-o",
          "jsonpath={.items[*].reason}",
        ]),
      );
      return out.includes("Pulling");
    });
    ok(await up.kubectl(["delete", "pod", "app", "--wait=true", "--timeout=60s"]));
    ok(await up.kubectl(["delete", "pvc", "data", "--wait=true", "--timeout=60s"]));
    await eventually("the provisioner to delete the volume", async () => {
      const r = await up.kubectl(["get", "pv", pvName]);
      return r.code !== 0 && /NotFound/.test(r.stderr);
    });
    assert.doesNotMatch(up.stderr(), /forbidden/i);
  },
);
