import assert from "node:assert/strict";
import { testWith } from "../../../tests/harness.ts";
import {
  busyboxImage,
  hostileImage,
  layeredImage,
  pushImage,
  pushIndex,
} from "../../../tests/fixtures/oci/images.ts";
import { type ConformanceSubject, runtimeConformance } from "../conformance.ts";
import {
  type ContainerConfig,
  ImagePullError,
  type LinuxContainerResources,
  RuntimeError,
  type LinuxContainerSecurityContext,
} from "../api.ts";
import type { ImageStore } from "../../images/image_store.ts";
import { fixturePrerequisites } from "../../../tests/fixtures/build.ts";
import { pushFixture } from "../../../tests/fixtures/push.ts";
import type { DispatchImageService } from "./dispatch_images.ts";
import type { DispatchRuntime } from "./dispatch_runtime.ts";
import { eventually } from "../../../tests/harness.ts";
import { type OciHarness, ociHarness, OCI_PREREQUISITES } from "./testing.ts";
import { createNetns, listNetns, netnsPath } from "../../cni/netns.ts";
import type { PluginOciRuntime } from "../plugin/plugin_oci_runtime.ts";

const oci = (name: string, fn: () => Promise<void>) => testWith(OCI_PREREQUISITES, name, fn);

async function subject(): Promise<ConformanceSubject> {
  const h = await ociHarness();
  const server = await pushImage(h.registry.host, "conformance/server", "1", await busyboxImage());
  const command = await pushImage(h.registry.host, "conformance/command", "1", await busyboxImage({
    config: { Cmd: ["/bin/sh", "-c", "echo running; exit ${EXIT_CODE:-0}"], Env: ["PATH=/bin"] },
  }));
  return {
    runtime: h.rt.runtime,
    images: h.rt.images,
    serverImage: server.reference,
    commandImage: command.reference,
    handler: "oci",
    allocatedAddresses: async () => [...(await h.network.allocations()).keys()],
    logRoot: `${h.dir}/pods`,
    [Symbol.asyncDispose]: () => h[Symbol.asyncDispose](),
  };
}

runtimeConformance("OCI runtime (crun Plugin)", subject, (name, fn) => testWith(OCI_PREREQUISITES, name, fn));

const dec = new TextDecoder();

oci("layers apply their whiteouts and opaque directories, in every compression and manifest kind", async () => {
  await using h = await ociHarness();
  const refs = [
    (await pushImage(h.registry.host, "layers/gzip", "1", await layeredImage("gzip"))).reference,
    (await pushImage(h.registry.host, "layers/zstd", "1", await layeredImage("zstd"))).reference,
    (await pushImage(h.registry.host, "layers/plain", "1", await layeredImage("none"))).reference,
    (await pushImage(h.registry.host, "layers/docker", "1", { ...await layeredImage("gzip"), docker: true })).reference,
    (await pushIndex(h.registry.host, "layers/index", "1", await layeredImage(), await busyboxImage())).reference,
  ];
  const cfg = h.sandboxConfig("layers");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  for (const [i, ref] of refs.entries()) {
    const pulled = await h.rt.images.pullImage({ image: ref });
    assert.match(pulled, /@sha256:[0-9a-f]{64}$/);
    const id = await h.rt.runtime.createContainer(sb, h.containerConfig(`c${i}`, pulled), cfg);
    await h.rt.runtime.startContainer(id);
    const st = await eventually("the exit", async () => {
      const s = await h.rt.runtime.containerStatus(id);
      return s?.state === "CONTAINER_EXITED" ? s : undefined;
    });
    assert.equal(st.exitCode, 0, ref);
    const log = await Deno.readTextFile(st.logPath);
    assert.match(log, /stdout F data: b$/m, `${ref}: the whiteout hides /data/a`);
    assert.match(log, /stdout F opq: z$/m, `${ref}: the opaque directory hides /opq/x and /opq/y`);
    assert.match(log, /stdout F layer three$/m, `${ref}: the top layer wins`);
  }
  // Every variant unpacks to the same three layers (busybox is the bottom of all of them):
  // content-addressed layer directories store each once.
  const layers = [...Deno.readDirSync(`${h.dir}/node/images/layers`)].filter((e) => e.isDirectory);
  assert.equal(layers.length, 3, layers.map((e) => e.name).join(", "));
});

oci("hostile layers are refused at pull time and leave nothing behind", async () => {
  await using h = await ociHarness();
  for (const kind of ["escape", "symlink-escape", "device"] as const) {
    const img = await pushImage(h.registry.host, `hostile/${kind}`, "1", await hostileImage(kind));
    await assert.rejects(
      () => h.rt.images.pullImage({ image: img.reference }),
      (e) => {
        assert.ok(e instanceof ImagePullError, String(e));
        assert.match(
          e.message,
          kind === "escape" ? /escapes the root/ : kind === "symlink-escape" ? /goes through the symlink "link"/ : /device node/,
        );
        return true;
      },
    );
  }
  assert.throws(() => Deno.statSync("/tmp/pwned-by-skiff-test"));
  assert.throws(() => Deno.statSync(`${h.dir}/node/images/escaped-by-skiff-test`));
  const left = [...Deno.readDirSync(`${h.dir}/node/images/layers`)].map((e) => e.name);
  // Only the busybox layer (shared, and clean) was kept.
  assert.equal(left.filter((n) => !n.endsWith(".size")).length, 1, left.join(", "));
});

/** Runs a busybox command container to its end; its status and log. */
async function runToEnd(
  h: OciHarness,
  image: string,
  cmd: string[],
  linux: { resources?: LinuxContainerResources; securityContext?: LinuxContainerSecurityContext } = {},
  extra: Partial<ContainerConfig> = {},
) {
  const cfg = h.sandboxConfig(`run-${crypto.randomUUID().slice(0, 6)}`);
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const base = h.containerConfig("c", image, { command: cmd, ...extra });
  const id = await h.rt.runtime.createContainer(sb, {
    ...base,
    linux: {
      resources: { ...base.linux!.resources, ...linux.resources },
      securityContext: { ...base.linux!.securityContext, ...linux.securityContext },
    },
  }, cfg);
  await h.rt.runtime.startContainer(id);
  const st = await eventually("the exit", async () => {
    const s = await h.rt.runtime.containerStatus(id);
    return s?.state === "CONTAINER_EXITED" ? s : undefined;
  });
  return { status: st, log: await Deno.readTextFile(st.logPath), sandbox: sb };
}

oci("limits and the securityContext reach the container, with secure defaults", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "sec/busybox", "1", await busyboxImage())).reference,
  });
  // Memory: a 64 MiB buffer under a 32 MiB limit is OOM-killed.
  const oom = await runToEnd(h, img, ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], {
    resources: { memoryLimitInBytes: 32 * 1024 * 1024 },
  });
  assert.equal(oom.status.exitCode, 137);
  assert.equal(oom.status.reason, "OOMKilled");

  // A read-only root filesystem refuses writes; volumes stay writable.
  const vol = await Deno.makeTempDir({ dir: h.dir });
  const ro = await runToEnd(h, img, ["sh", "-c", "touch /x || echo refused; echo ok > /data/f; cat /data/f"], {
    securityContext: { readonlyRootfs: true },
  }, { mounts: [{ containerPath: "/data", hostPath: vol, readonly: false }] });
  assert.match(ro.log, /Read-only file system/);
  assert.match(ro.log, /stdout F refused/);
  assert.match(ro.log, /stdout F ok/);
  assert.equal(await Deno.readTextFile(`${vol}/f`), "ok\n");

  // Defaults: the default capabilities only, no_new_privs, seccomp, masked /proc, no leaked fds.
  const def = await runToEnd(h, img, [
    "sh",
    "-c",
    "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; echo fds: $(ls /proc/self/fd); " +
    "cat /proc/kcore | head -c1 | wc -c; echo x > /proc/sys/kernel/hostname 2>&1 || echo rofs; " +
    "cat /sys/fs/cgroup/pids/pids.max; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares; " +
    "unshare -U true 2>&1 || echo userns-refused",
  ], { resources: { cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512 } });
  assert.match(def.log, /CapEff:\t00000000a80425fb/, "the 14 default capabilities");
  assert.match(def.log, /NoNewPrivs:\t1/);
  assert.match(def.log, /Seccomp:\t2/);
  assert.match(def.log, /stdout F fds: 0 1 2 3$/m, "only stdio (and ls's own directory)");
  assert.match(def.log, /stdout F 0$/m, "/proc/kcore is masked");
  assert.match(def.log, /rofs|Read-only/, "/proc/sys is read-only");
  assert.match(def.log, /stdout F 4096$/m, "the pids limit");
  assert.match(def.log, /stdout F 50000$/m, "the CPU quota");
  assert.match(def.log, /stdout F 512$/m, "the CPU shares");
  // The default profile was compiled by crun for the first container; later ones (this one) get
  // that filter through crun's annotation, and it is enforced (unshare needs CAP_SYS_ADMIN there).
  const ociRt = (h.rt.runtime as DispatchRuntime).oci!;
  assert.ok(ociRt.seccompFilters.size >= 1, "the compiled default profile is kept");
  const defSpec = JSON.parse(await Deno.readTextFile(`${ociRt.opts.dir}/containers/${def.status.id}/config.json`));
  assert.ok(defSpec.annotations["run.oci.seccomp_bpf_data"], "a later container is handed the compiled filter");
  assert.ok(defSpec.linux.seccomp, "the profile itself stays in config.json");
  assert.match(def.log, /Operation not permitted/);
  assert.match(def.log, /stdout F userns-refused$/m, "the filter denies unshare");

  // Capabilities: drop ALL, add NET_BIND_SERVICE; a user.
  const caps = await runToEnd(h, img, ["sh", "-c", "id; grep CapBnd /proc/self/status"], {
    securityContext: {
      runAsUser: 1000,
      capabilities: { addCapabilities: ["NET_BIND_SERVICE"], dropCapabilities: ["ALL"] },
    },
  });
  assert.match(caps.log, /uid=1000\(app\) gid=1000\(app\) groups=1000\(app\),2000\(extra\)/);
  assert.match(caps.log, /CapBnd:\t0000000000000400/);

  // runAsNonRoot against an image that runs as root is refused before the container exists.
  const cfg = h.sandboxConfig("nonroot");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const c = h.containerConfig("c", img);
  await assert.rejects(
    () => h.rt.runtime.createContainer(sb, { ...c, linux: { ...c.linux!, securityContext: { runAsNonRoot: true } } }, cfg),
    /CreateContainerConfigError|runAsNonRoot and image will run as root/,
  );
});

oci("exec runs commands with and without a terminal, exec probes get exit codes, attach reaches stdin", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "exec/busybox", "1", await busyboxImage())).reference,
  });
  const cfg = h.sandboxConfig("exec");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const id = await h.rt.runtime.createContainer(
    sb,
    h.containerConfig("c", img, {
      command: ["sh", "-c", "while read line; do echo got $line; done"],
      stdin: true,
      envs: [{ key: "GREETING", value: "hi" }],
    }),
    cfg,
  );
  await h.rt.runtime.startContainer(id);
  const sync = await h.rt.runtime.execSync!(id, ["sh", "-c", "echo $GREETING; echo err >&2; exit 7"], 5000);
  assert.equal(sync.exitCode, 7);
  assert.equal(dec.decode(sync.stdout), "hi\n");
  assert.equal(dec.decode(sync.stderr), "err\n");
  await assert.rejects(() => h.rt.runtime.execSync!(id, ["sleep", "30"], 500), /timed out/);

  // A terminal: the shell sees one, with its size, and its exit code comes back.
  const tty = await h.rt.runtime.exec!(id, { cmd: ["sh"], tty: true, stdin: true });
  tty.resize(100, 30);
  let out = "";
  const reading = (async () => {
    for await (const chunk of tty.output) out += dec.decode(chunk.data);
  })();
  await tty.write(new TextEncoder().encode("tty; stty size; exit 5\n"));
  assert.equal(await tty.exited, 5);
  await reading;
  assert.match(out, /\/dev\/pts\/\d+/);
  assert.match(out, /30 100/);

  // Without a terminal: stdin in, stdout and stderr apart.
  const pipe = await h.rt.runtime.exec!(id, { cmd: ["sh", "-c", "cat; echo e >&2"], tty: false, stdin: true });
  const chunks: { stream: string; text: string }[] = [];
  const r2 = (async () => {
    for await (const c of pipe.output) chunks.push({ stream: c.stream, text: dec.decode(c.data) });
  })();
  await pipe.write(new TextEncoder().encode("piped\n"));
  await pipe.closeStdin();
  assert.equal(await pipe.exited, 0);
  await r2;
  assert.equal(chunks.filter((c) => c.stream === "stdout").map((c) => c.text).join(""), "piped\n");
  assert.equal(chunks.filter((c) => c.stream === "stderr").map((c) => c.text).join(""), "e\n");

  // attach: the main process reads what is written and its output comes back.
  const att = await h.rt.runtime.attach!(id, { stdin: true, tty: false });
  let seen = "";
  const r3 = (async () => {
    for await (const c of att.output) {
      seen += dec.decode(c.data);
      if (seen.includes("got hello")) break;
    }
  })();
  await att.write(new TextEncoder().encode("hello\n"));
  await r3;
  await att.close();
  assert.match(seen, /got hello/);
  await h.rt.runtime.stopContainer(id, 0);
});

oci("a SIGTERM-ignoring container is killed after its grace period; a polite one stops at once", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "stop/busybox", "1", await busyboxImage())).reference,
  });
  const cfg = h.sandboxConfig("stop");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const stubborn = await h.rt.runtime.createContainer(sb, h.containerConfig("stubborn", img, {
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
  }), cfg);
  const polite = await h.rt.runtime.createContainer(sb, h.containerConfig("polite", img, {
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"],
  }), cfg);
  await h.rt.runtime.startContainer(stubborn);
  await h.rt.runtime.startContainer(polite);
  await new Promise((r) => setTimeout(r, 300));
  let t = performance.now();
  await h.rt.runtime.stopContainer(polite, 10);
  const politeTook = performance.now() - t;
  t = performance.now();
  await h.rt.runtime.stopContainer(stubborn, 2);
  const stubbornTook = performance.now() - t;
  assert.ok(politeTook < 2000, `the polite one took ${politeTook} ms`);
  assert.ok(stubbornTook >= 1900 && stubbornTook < 6000, `the stubborn one took ${stubbornTook} ms`);
  assert.equal((await h.rt.runtime.containerStatus(polite))?.exitCode, 0);
  const killed = await h.rt.runtime.containerStatus(stubborn);
  assert.equal(killed?.exitCode, 137);
  assert.equal(killed?.reason, "Error");
});

oci("a reopened runtime adopts running containers and learns the exits that happened meanwhile", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "adopt/busybox", "1", await busyboxImage())).reference,
  });
  const cfg = h.sandboxConfig("adopt");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const ip = (await h.rt.runtime.podSandboxStatus(sb))!.network!.ip;
  const web = await h.rt.runtime.createContainer(sb, h.containerConfig("web", img), cfg);
  const brief = await h.rt.runtime.createContainer(sb, h.containerConfig("brief", img, {
    command: ["sh", "-c", "sleep 1; echo bye; exit 4"],
  }), cfg);
  await h.rt.runtime.startContainer(web);
  await h.rt.runtime.startContainer(brief);
  await eventually("httpd", async () => (await fetch(`http://${ip}:8080/`).then((r) => r.text()).catch(() => "")) !== "");
  await h.rt.close({ keepPods: true });
  await new Promise((r) => setTimeout(r, 1500)); // `brief` exits while nobody watches
  assert.equal((await fetch(`http://${ip}:8080/`)).status, 200, "the container outlives its runtime");
  const rt = await h.reopen();
  const w = await rt.runtime.containerStatus(web);
  assert.equal(w?.state, "CONTAINER_RUNNING");
  const b = await rt.runtime.containerStatus(brief);
  assert.equal(b?.state, "CONTAINER_EXITED");
  assert.equal(b?.exitCode, 4);
  assert.match(await Deno.readTextFile(b!.logPath), /stdout F bye/);
  // The adopted container is still fully driven: exec, then stop.
  const ex = await rt.runtime.execSync!(web, ["echo", "adopted"], 5000);
  assert.equal(dec.decode(ex.stdout), "adopted\n");
  await rt.runtime.stopContainer(web, 1);
  assert.equal((await rt.runtime.containerStatus(web))?.state, "CONTAINER_EXITED");
});

oci("a reopened runtime stops a sandbox whose network was never set up (the agent stopped during its ADD)", async () => {
  await using h = await ociHarness();
  const driver = (h.rt.runtime as DispatchRuntime).oci as unknown as PluginOciRuntime;
  // What an agent that stopped between the sandbox's record and its network's ADD leaves
  // (runPodSandboxDeferred): the plugin's record with a network namespace and no IP.
  const cfg = h.sandboxConfig("half");
  const netns = `${driver.opts.netnsPrefix}_half-${crypto.randomUUID().slice(0, 8)}`;
  await createNetns(netns);
  const podDir = `${driver.opts.host.dirs.sandboxes}/half`;
  await Deno.mkdir(podDir, { recursive: true });
  const id = await driver.opts.host.runPodSandbox({
    metadata: cfg.metadata,
    hostname: "half",
    logDirectory: cfg.logDirectory,
    labels: [],
    annotations: [],
    netns: netnsPath(netns),
    ip: undefined,
    podDir,
    linux: "{}",
  }, "oci") as string;
  await h.rt.close({ keepPods: true });
  const rt = await h.reopen();
  assert.equal((await rt.runtime.podSandboxStatus(id))?.state, "SANDBOX_NOTREADY");
  assert.ok(!listNetns(netns).includes(netns), "its network namespace is deleted");
});

oci("a sandbox whose directory cannot be made is a CreatePodSandboxError and leaves no record or network namespace", async () => {
  await using h = await ociHarness();
  const driver = (h.rt.runtime as DispatchRuntime).oci as unknown as PluginOciRuntime;
  const prefix = driver.opts.netnsPrefix;
  await eventually("the spare network namespace", () => listNetns(`${prefix}_n-`).length === 1);
  // A sandbox takes the spare (the next is made once a container is created): the failing one
  // below makes its own network namespace while its directory fails.
  const made = await h.rt.runtime.runPodSandbox(h.sandboxConfig("made"), "oci");
  // The plugin's record is asked for before the pod's directory is made: a file where the
  // sandboxes' directory should be makes the mkdir fail after the record.
  const sandboxes = driver.opts.host.dirs.sandboxes;
  Deno.renameSync(sandboxes, `${sandboxes}.away`);
  Deno.writeTextFileSync(sandboxes, "");
  try {
    await assert.rejects(
      () => h.rt.runtime.runPodSandbox(h.sandboxConfig("unmade"), "oci"),
      (e) => {
        assert.ok(e instanceof RuntimeError, String(e));
        assert.equal(e.reason, "CreatePodSandboxError");
        assert.match(e.message, /not a directory/i);
        return true;
      },
    );
  } finally {
    Deno.removeSync(sandboxes);
    Deno.renameSync(`${sandboxes}.away`, sandboxes);
  }
  const left = await h.rt.runtime.listPodSandbox();
  assert.deepEqual(left.filter((s) => s.metadata.name === "unmade"), [], "the plugin's record is removed");
  assert.deepEqual(listNetns(`${prefix}_unmade-`), [], "the network namespace it made is deleted");
  // The node still makes sandboxes.
  assert.equal((await h.rt.runtime.podSandboxStatus(made))?.state, "SANDBOX_READY");
  const sb = await h.rt.runtime.runPodSandbox(h.sandboxConfig("again"), "oci");
  assert.equal((await h.rt.runtime.podSandboxStatus(sb))?.state, "SANDBOX_READY");
});

oci("a pod mixes a WebAssembly component and a container sharing its IP and a volume", async () => {
  if (fixturePrerequisites("http_sm").some((p) => !p.available())) return;
  await using h = await ociHarness();
  const wasmRef = (await pushFixture(h.registry.host, "http_sm")).reference;
  const bb = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "mixed/busybox", "1", await busyboxImage())).reference,
  });
  const wasm = await h.rt.images.pullImage({ image: wasmRef });
  const cfg = h.sandboxConfig("mixed");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const ip = (await h.rt.runtime.podSandboxStatus(sb))!.network!.ip;
  const vol = await Deno.makeTempDir({ dir: h.dir });
  await Deno.chmod(vol, 0o777);
  const component = await h.rt.runtime.createContainer(sb, h.containerConfig("wasm", wasm, {
    ports: [{ containerPort: 8080, protocol: "TCP" }],
    mounts: [{ containerPath: "/shared", hostPath: vol, readonly: false }],
  }), cfg);
  const sidecar = await h.rt.runtime.createContainer(sb, h.containerConfig("sidecar", bb, {
    command: ["sh", "-c", "echo from-sidecar > /shared/note; httpd -f -p 9090 -h /www"],
    mounts: [{ containerPath: "/shared", hostPath: vol, readonly: false }],
  }), cfg);
  await h.rt.runtime.startContainer(component);
  await h.rt.runtime.startContainer(sidecar);
  // One IP: the component on 8080, the sidecar on 9090.
  assert.equal(await eventually("the component", () => fetch(`http://${ip}:8080/`).then((r) => r.status).catch(() => undefined)), 200);
  assert.equal(await eventually("the sidecar", () => fetch(`http://${ip}:9090/`).then((r) => r.text()).catch(() => undefined)), "hello from busybox\n");
  // The sidecar reaches the component on the pod IP, from inside the same network namespace.
  const ex = await h.rt.runtime.execSync!(sidecar, ["sh", "-c", `wget -q -O- http://${ip}:8080/ && cat /shared/note`], 10_000);
  assert.equal(ex.exitCode, 0, dec.decode(ex.stderr));
  assert.match(dec.decode(ex.stdout), /hello from wasm/);
  assert.match(dec.decode(ex.stdout), /from-sidecar/);
  const listed = await h.rt.runtime.listContainers({ podSandboxId: sb });
  assert.deepEqual(listed.map((c) => c.id).sort(), [component, sidecar].sort());
  assert.deepEqual((await h.rt.runtime.listPodSandbox()).map((s) => s.id), [sb], "the component's sandbox is hidden");
  assert.equal((await h.rt.runtime.containerStatus(component))?.runtimeName, "wasm");
  assert.equal((await h.rt.runtime.containerStatus(sidecar))?.runtimeName, "crun");
  await h.rt.runtime.stopPodSandbox(sb);
  await h.rt.runtime.removePodSandbox(sb);
  assert.deepEqual(await h.rt.runtime.listContainers(), []);
});

oci("image garbage collection removes unused images, least recently used first, past the high-water mark", async () => {
  await using h = await ociHarness();
  const a = await h.rt.images.pullImage({ image: (await pushImage(h.registry.host, "gc/a", "1", await busyboxImage())).reference });
  const b = await h.rt.images.pullImage({ image: (await pushImage(h.registry.host, "gc/b", "1", await layeredImage())).reference });
  const store: ImageStore = (h.rt.images as DispatchImageService).store;
  const idA = store.lookup(a)!.id, idB = store.lookup(b)!.id;
  store.lookup(a)!.lastUsed = 1; // a is the older
  assert.deepEqual(await store.garbageCollect(new Set(), { disk: { size: 100, free: 50 } }), [], "below the mark");
  const removed = await store.garbageCollect(new Set([idB]), { disk: { size: 1000, free: 50 }, highPercent: 85, lowPercent: 80 });
  assert.deepEqual(removed, [idA], "in use images stay");
  assert.equal(store.lookup(a), undefined);
  assert.ok(store.lookup(b), "b is in use");
  // Its layers are shared with b (busybox): nothing b needs is gone.
  for (const l of store.lookup(b)!.layers) assert.ok(Deno.statSync(store.layerPath(l)).isDirectory);
});

oci("concurrent pulls share each layer's download, and a blob that fails its digest is refused", async () => {
  await using h = await ociHarness();
  const store: ImageStore = (h.rt.images as DispatchImageService).store;
  const transport = store.registry.transport;
  const request = transport.request.bind(transport);
  const blobGets = new Map<string, number>();
  let corrupt = false;
  transport.request = async (req) => {
    const res = await request(req);
    if (!req.path.startsWith("blobs/") || req.method) return res;
    blobGets.set(req.path, (blobGets.get(req.path) ?? 0) + 1);
    if (!corrupt || !res.body) return res;
    // A file's content inside an uncompressed layer changes: the archive stays well-formed, only
    // the digest notices.
    const bytes = new Uint8Array(await res.arrayBuffer());
    const at = new TextDecoder("latin1").decode(bytes).indexOf("layer t");
    if (at >= 0) bytes[at] = "L".charCodeAt(0);
    return new Response(bytes, { status: res.status, headers: res.headers });
  };
  // Two images with the same busybox layer (and a different config), pulled at once.
  const [one, two] = await Promise.all([
    pushImage(h.registry.host, "dedup/one", "1", await busyboxImage()),
    pushImage(h.registry.host, "dedup/two", "1", await busyboxImage({ config: { Cmd: ["/bin/true"] } })),
  ]);
  const pulled = await Promise.all([one, two, one].map((i) => h.rt.images.pullImage({ image: i.reference })));
  assert.equal(pulled[0], pulled[2]);
  const [a, b] = [store.lookup(pulled[0])!, store.lookup(pulled[1])!];
  assert.notEqual(a.id, b.id);
  assert.deepEqual(a.layers, b.layers, "one shared layer");
  const layerDigest = [...blobGets.keys()].filter((k) => (blobGets.get(k) ?? 0) > 0 && ![a.id, b.id].includes(k.slice(6)));
  assert.equal(layerDigest.length, 1, [...blobGets].join(", "));
  assert.equal(blobGets.get(layerDigest[0]), 1, "the layer was downloaded once for three pulls");

  corrupt = true;
  const three = await pushImage(h.registry.host, "dedup/three", "1", await layeredImage("none"));
  await assert.rejects(() => h.rt.images.pullImage({ image: three.reference }), (e) => {
    assert.ok(e instanceof ImagePullError, String(e));
    assert.match(e.message, /failed verification/);
    return true;
  });
  const leftovers = [...Deno.readDirSync(store.layersDir)].filter((e) => e.name.startsWith("tmp-"));
  assert.deepEqual(leftovers, [], "a refused layer leaves no partial directory");
});

oci("no file descriptor of the node reaches a container: a workingDir through /proc/self/fd stays inside (CVE-2024-21626)", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "fds/busybox", "1", await busyboxImage())).reference,
  });
  // runc leaked a descriptor of the host's /sys/fs/cgroup into the container; a workingDir of
  // /proc/self/fd/<n> then started the process in the host's file system. Whatever descriptor
  // <n> is tried, the process must either not start or find itself inside its rootfs: climbing
  // up from its working directory reaches the container's root (no /work, the host's).
  const inside = await runToEnd(h, img, ["sh", "-c", "cd ../../../../../../.. && ls -a"], {}, { workingDir: "/tmp" });
  assert.match(inside.log, /stdout F bin$/m, "climbing up from a directory inside ends at the container's root");
  for (let fd = 3; fd <= 8; fd++) {
    let outcome: string;
    try {
      const r = await runToEnd(h, img, ["sh", "-c", "cd ../../../../../../.. && ls -a"], {}, { workingDir: `/proc/self/fd/${fd}` });
      outcome = r.status.exitCode === 0 ? r.log : `exit ${r.status.exitCode}`;
    } catch (e) {
      outcome = `refused: ${(e as Error).message}`;
    }
    assert.doesNotMatch(outcome, /stdout F work$/m, `fd ${fd}: the host's root is reachable:\n${outcome}`);
  }
  // Exec sessions get no descriptor of the agent either.
  const cfg = h.sandboxConfig("fds");
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const id = await h.rt.runtime.createContainer(sb, h.containerConfig("c", img), cfg);
  await h.rt.runtime.startContainer(id);
  const ex = await h.rt.runtime.execSync!(id, ["sh", "-c", "ls /proc/self/fd"], 10_000);
  assert.equal(ex.exitCode, 0, dec.decode(ex.stderr));
  assert.deepEqual(dec.decode(ex.stdout).trim().split(/\s+/), ["0", "1", "2", "3"], "stdio and ls's own directory");
  // Nor does the container's own process (created by conmon, which got the spawner's sync pipe):
  // httpd holds its stdio and its listening socket, no pipe or file of the node's.
  const init = await h.rt.runtime.execSync!(id, ["sh", "-c", 'for f in /proc/1/fd/*; do echo "${f##*/} $(readlink $f)"; done'], 10_000);
  assert.equal(init.exitCode, 0, dec.decode(init.stderr));
  const held = dec.decode(init.stdout).trim().split("\n").map((l) => l.replace(/\[\d+\]$/, ""));
  assert.deepEqual(held, ["0 /dev/null", "1 pipe:", "2 pipe:", "3 socket:"], "PID 1: stdio and its own socket only");
});

oci("the pod's hostname, sysctls, /etc/hosts and DNS configuration reach its containers", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "podfiles/busybox", "1", await busyboxImage())).reference,
  });
  const cfg = h.sandboxConfig("files", {
    hostname: "web-0",
    dnsConfig: { servers: ["198.19.0.10"], searches: ["default.svc.cluster.local", "svc.cluster.local"], options: ["ndots:5"] },
    linux: { sysctls: { "net.ipv4.ip_unprivileged_port_start": "80" } },
  });
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  const ip = (await h.rt.runtime.podSandboxStatus(sb))!.network!.ip;
  const id = await h.rt.runtime.createContainer(sb, h.containerConfig("c", img, {
    command: ["sh", "-c", "hostname; cat /etc/resolv.conf /etc/hosts /proc/sys/net/ipv4/ip_unprivileged_port_start"],
  }), cfg);
  await h.rt.runtime.startContainer(id);
  const st = await eventually("the exit", async () => {
    const s = await h.rt.runtime.containerStatus(id);
    return s?.state === "CONTAINER_EXITED" ? s : undefined;
  });
  const log = (await Deno.readTextFile(st.logPath)).split("\n").map((l) => l.replace(/^\S+ stdout F /, "")).join("\n");
  assert.equal(st.exitCode, 0, log);
  assert.match(log, /^web-0$/m);
  assert.match(log, /^search default\.svc\.cluster\.local svc\.cluster\.local\nnameserver 198\.19\.0\.10\noptions ndots:5$/m);
  assert.match(log, new RegExp(`^${ip.replaceAll(".", "\\.")}\\tweb-0$`, "m"));
  assert.match(log, /^80$/m, "the namespaced sysctl");
});

oci("a hostNetwork and hostPID pod uses the node's network, hostname and processes; shareProcessNamespace is refused", async () => {
  await using h = await ociHarness();
  const img = await h.rt.images.pullImage({
    image: (await pushImage(h.registry.host, "host/busybox", "1", await busyboxImage())).reference,
  });
  const base = h.sandboxConfig("hostnet");
  const cfg = {
    ...base,
    linux: { sysctls: {}, securityContext: { namespaceOptions: { network: "NODE", pid: "NODE", ipc: "POD" } as const } },
  };
  const sb = await h.rt.runtime.runPodSandbox(cfg, "oci");
  assert.equal((await h.rt.runtime.podSandboxStatus(sb))?.network, undefined, "no pod IP of its own");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const id = await h.rt.runtime.createContainer(sb, h.containerConfig("c", img, {
    command: ["sh", "-c", `hostname; ls /sys/class/net; test -d /proc/${Deno.pid} && echo sees-the-agent; exec httpd -f -p 127.0.0.1:${port} -h /www`],
  }), cfg);
  await h.rt.runtime.startContainer(id);
  const body = await eventually("the server on the node's loopback", () =>
    fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).catch(() => undefined));
  assert.equal(body, "hello from busybox\n");
  const log = await Deno.readTextFile((await h.rt.runtime.containerStatus(id))!.logPath);
  assert.match(log, new RegExp(`stdout F ${Deno.hostname()}$`, "m"), "the node's hostname");
  assert.match(log, new RegExp(`stdout F ${h.network.bridge}$`, "m"), "the node's interfaces");
  assert.match(log, /stdout F sees-the-agent$/m, "the node's processes");
  await h.rt.runtime.stopPodSandbox(sb);
  await h.rt.runtime.removePodSandbox(sb);

  await assert.rejects(
    () =>
      h.rt.runtime.runPodSandbox({
        ...h.sandboxConfig("shared"),
        linux: { sysctls: {}, securityContext: { namespaceOptions: { network: "POD", pid: "POD", ipc: "POD" } } },
      }, "oci"),
    /shareProcessNamespace is not supported/,
  );
});
