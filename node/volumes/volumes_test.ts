import assert from "node:assert/strict";
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { writeAtomically } from "./atomic_writer.ts";
import { MountError, volumeFiles, type VolumeLookups } from "./projection.ts";
import { containerMounts, VolumeManager } from "./volume_manager.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function lookups(cmData: Record<string, string>): VolumeLookups {
  const bytes = (d: Record<string, string>) =>
    Object.fromEntries(Object.entries(d).map(([k, v]) => [k, enc.encode(v)]));
  return {
    configMap: (_ns, name) => (name === "cfg" ? { data: bytes(cmData) } : undefined),
    secret: (_ns, name) => (name === "sec" ? { data: bytes({ token: "t0p" }) } : undefined),
    allocatable: { cpu: "2", memory: "1Gi" },
  };
}

const pod: Pod = {
  metadata: { name: "web", namespace: "default", uid: "u1", labels: { app: "web", tier: "a" } },
  spec: {
    containers: [{ name: "app", image: "i", resources: { limits: { memory: "32Mi" } } }],
    volumes: [
      {
        name: "config",
        configMap: { name: "cfg", items: [{ key: "app.conf", path: "conf/app.conf", mode: 0o600 }] },
      },
      { name: "creds", secret: { secretName: "sec", defaultMode: 0o400 } },
      {
        name: "meta",
        downwardAPI: {
          items: [
            { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
            {
              path: "mem",
              resourceFieldRef: { containerName: "app", resource: "limits.memory", divisor: "1Mi" },
            },
          ],
        },
      },
      { name: "scratch", emptyDir: {} },
    ],
  },
};

Deno.test("volumeFiles() projects items, modes and downward API values", () => {
  const l = lookups({ "app.conf": "x=1", other: "y" });
  const cfg = volumeFiles(pod, pod.spec!.volumes![0], l)!;
  assert.deepEqual([...cfg.keys()], ["conf/app.conf"]);
  assert.equal(cfg.get("conf/app.conf")!.mode, 0o600);
  assert.equal(volumeFiles(pod, pod.spec!.volumes![1], l)!.get("token")!.mode, 0o400);
  const meta = volumeFiles(pod, pod.spec!.volumes![2], l)!;
  assert.equal(dec.decode(meta.get("labels")!.data), 'app="web"\ntier="a"');
  assert.equal(dec.decode(meta.get("mem")!.data), "32");
  assert.equal(volumeFiles(pod, pod.spec!.volumes![3], l), null);
});

Deno.test("volumeFiles() fails for missing required sources and skips optional ones", () => {
  const l = lookups({});
  assert.throws(
    () => volumeFiles(pod, pod.spec!.volumes![0], l),
    (e) => e instanceof MountError && /key "app.conf" does not exist/.test(e.message),
  );
  assert.throws(
    () => volumeFiles(pod, { name: "x", configMap: { name: "nope" } }, l),
    /configmap "nope" not found/,
  );
  assert.equal(volumeFiles(pod, { name: "x", configMap: { name: "nope", optional: true } }, l)!.size, 0);
  assert.throws(
    () =>
      volumeFiles(
        pod,
        { name: "x", configMap: { name: "cfg", items: [{ key: "k", path: "../up" }] } },
        lookups({ k: "v" }),
      ),
    /invalid path/,
  );
});

Deno.test("writeAtomically() swaps ..data, keeps user paths as links, and skips unchanged payloads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = (v: string) =>
      new Map([["a.txt", { data: enc.encode(v), mode: 0o644 }], ["sub/b.txt", {
        data: enc.encode("b"),
        mode: 0o600,
      }]]);
    assert.equal(await writeAtomically(dir, files("one")), true);
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "one");
    assert.equal(await Deno.readTextFile(`${dir}/sub/b.txt`), "b");
    assert.equal((await Deno.lstat(`${dir}/a.txt`)).isSymlink, true);
    const first = await Deno.readLink(`${dir}/..data`);
    assert.equal(await writeAtomically(dir, files("one")), false);
    assert.equal(await writeAtomically(dir, files("two")), true);
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "two");
    assert.notEqual(await Deno.readLink(`${dir}/..data`), first);
    await assert.rejects(() => Deno.stat(`${dir}/${first}`), "the old payload is removed");
    await writeAtomically(dir, new Map([["c.txt", { data: enc.encode("c"), mode: 0o644 }]]));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.startsWith("..")), [
      "c.txt",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VolumeManager sets up every volume under the pod directory and tears it down", async () => {
  const root = await Deno.makeTempDir();
  try {
    const vm = new VolumeManager(root);
    const paths = await vm.setUp(pod, lookups({ "app.conf": "x=1" }));
    assert.equal(paths.get("config"), `${root}/pods/u1/volumes/kubernetes.io~configmap/config`);
    assert.equal(await Deno.readTextFile(`${paths.get("config")}/conf/app.conf`), "x=1");
    assert.equal((await Deno.stat(paths.get("scratch")!)).isDirectory, true);
    const mounts = containerMounts({
      name: "app",
      volumeMounts: [{ name: "config", mountPath: "/etc/app", readOnly: true }],
    }, paths);
    assert.deepEqual(mounts, [{ containerPath: "/etc/app", hostPath: paths.get("config"), readonly: true }]);
    assert.throws(
      () => containerMounts({ name: "app", volumeMounts: [{ name: "nope", mountPath: "/x" }] }, paths),
      MountError,
    );
    await assert.rejects(
      () =>
        vm.setUp({
          ...pod,
          spec: { ...pod.spec!, volumes: [{ name: "pvc", persistentVolumeClaim: { claimName: "c" } }] },
        }, lookups({})),
      /persistentVolumeClaim volumes are not supported/,
    );
    assert.deepEqual(await vm.knownPods(), ["u1"]);
    await vm.tearDown("u1");
    assert.deepEqual(await vm.knownPods(), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
