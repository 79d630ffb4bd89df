/**
 * The shared contract of every RuntimeService (Hono's `common.case.test.ts` pattern): one suite,
 * run against each runtime (Wasm now, OCI later) with real workloads. It checks the CRI verbs'
 * states, that every verb is idempotent, container events, exit codes, and that stopping a pod
 * sandbox releases its address.
 * @module
 */
import assert from "node:assert/strict";
import {
  type ContainerConfig,
  type ContainerEvent,
  type ImageService,
  type PodSandboxConfig,
  RuntimeError,
  type RuntimeService,
} from "./api.ts";

/** A runtime under test and what the suite needs to drive it. */
export interface ConformanceSubject extends AsyncDisposable {
  runtime: RuntimeService;
  images: ImageService;
  /** A long-running workload that serves HTTP on its port (given as `ports`). */
  serverImage: string;
  /** A workload that exits with the code in env `EXIT_CODE`. */
  commandImage: string;
  /** The runtime handler of the sandboxes (default `wasm`). */
  handler?: string;
  /** Addresses the network holds (to check release). */
  allocatedAddresses(): Promise<string[]>;
  logRoot: string;
}

function sandboxConfig(root: string, uid: string, attempt = 0): PodSandboxConfig {
  return {
    metadata: { name: `pod-${uid}`, namespace: "conformance", uid, attempt },
    hostname: `pod-${uid}`,
    logDirectory: `${root}/conformance_pod-${uid}_${uid}`,
    labels: { "io.kubernetes.pod.uid": uid, app: "conformance" },
    annotations: {},
    portMappings: [],
  };
}

/** A CRI container config with every field a runtime reads, overridden by `extra`. */
export function containerConfig(
  name: string,
  image: string,
  extra: Partial<ContainerConfig> = {},
): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image },
    command: [],
    args: [],
    workingDir: "",
    envs: [],
    mounts: [],
    labels: { "io.kubernetes.container.name": name },
    annotations: {},
    logPath: `${name}/0.log`,
    ports: [],
    resources: {},
    stdin: false,
    tty: false,
    ...extra,
  };
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Registers the suite's tests for the runtime `make()` builds. */
export function runtimeConformance(
  label: string,
  make: () => Promise<ConformanceSubject>,
  register: (name: string, fn: () => Promise<void>) => void = (name, fn) => Deno.test(name, fn),
): void {
  register(
    `${label}: a pod sandbox and a server container go through every state, each verb idempotent`,
    async () => {
      await using s = await make();
      const rt = s.runtime;
      const events: ContainerEvent[] = [];
      const unsubscribe = rt.events((e) => events.push(e));
      const serverRef = await s.images.pullImage({ image: s.serverImage });
      assert.ok(await s.images.imageStatus({ image: s.serverImage }), "the pulled image is present");

      const cfg = sandboxConfig(s.logRoot, "u1");
      const sb = await rt.runPodSandbox(cfg, s.handler ?? "wasm");
      const status = await rt.podSandboxStatus(sb);
      assert.equal(status?.state, "SANDBOX_READY");
      const ip = status?.network?.ip;
      assert.match(ip ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual(
        (await rt.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": "u1" } })).map((p) => p.id),
        [sb],
      );
      assert.deepEqual(await rt.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": "nope" } }), []);

      const id = await rt.createContainer(
        sb,
        containerConfig("web", serverRef, { ports: [{ containerPort: 8080, protocol: "TCP" }] }),
        cfg,
      );
      assert.equal((await rt.containerStatus(id))?.state, "CONTAINER_CREATED");
      await rt.startContainer(id);
      await rt.startContainer(id); // idempotent
      const running = await rt.containerStatus(id);
      assert.equal(running?.state, "CONTAINER_RUNNING");
      assert.ok(running!.startedAt > 0);
      if (rt.podStatus) {
        // The one-shot read reports what the list and status verbs report of the pod's sandboxes
        // and of the containers in them.
        const listed = {
          sandboxes: await Promise.all(
            (await rt.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": "u1" } })).map((p) =>
              rt.podSandboxStatus(p.id)
            ),
          ),
          containers: await Promise.all(
            (await rt.listContainers({ podSandboxId: sb })).map((c) => rt.containerStatus(c.id)),
          ),
        };
        assert.equal(listed.containers.length, 1);
        assert.deepEqual(await rt.podStatus("u1"), listed);
        assert.deepEqual(await rt.podStatus("nope"), { sandboxes: [], containers: [] });
      }
      // StartContainer returns once the workload's process runs (CRI), not once it listens: a
      // container's server binds its port a moment later, so the first answer is awaited.
      const answered = await until("the server to answer on its port", async () => {
        try {
          const res = await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          return res.status;
        } catch {
          return undefined;
        }
      }, 10_000);
      assert.equal(answered, 200);
      assert.deepEqual(
        (await rt.listContainers({ podSandboxId: sb, state: "CONTAINER_RUNNING" })).map((c) => c.id),
        [id],
      );

      await rt.stopContainer(id, 1);
      await rt.stopContainer(id, 1); // idempotent
      const stopped = await rt.containerStatus(id);
      assert.equal(stopped?.state, "CONTAINER_EXITED");
      assert.ok(stopped!.finishedAt >= stopped!.startedAt);
      await assert.rejects(() => fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(1000) }));
      await until(
        "the stop event",
        () =>
          Promise.resolve(events.some((e) => e.containerId === id && e.type === "CONTAINER_STOPPED_EVENT")),
      );
      assert.ok(events.some((e) => e.containerId === id && e.type === "CONTAINER_STARTED_EVENT"));
      assert.equal(events.find((e) => e.containerId === id)?.podUid, "u1");

      await rt.removeContainer(id);
      await rt.removeContainer(id); // idempotent
      assert.equal(await rt.containerStatus(id), null);
      await rt.stopPodSandbox(sb);
      await rt.stopPodSandbox(sb); // idempotent
      assert.equal((await rt.podSandboxStatus(sb))?.state, "SANDBOX_NOTREADY");
      // A runtime that keeps sandbox statuses between reads forgets them when the sandbox stops.
      if (rt.podStatus) assert.equal((await rt.podStatus("u1")).sandboxes[0]?.state, "SANDBOX_NOTREADY");
      assert.ok(!(await s.allocatedAddresses()).includes(ip!), "stopping the sandbox released its address");
      await rt.removePodSandbox(sb);
      await rt.removePodSandbox(sb); // idempotent
      assert.equal(await rt.podSandboxStatus(sb), null);
      unsubscribe();
    },
  );

  register(`${label}: a command container exits with its code and writes its log`, async () => {
    await using s = await make();
    const rt = s.runtime;
    const ref = await s.images.pullImage({ image: s.commandImage });
    const cfg = sandboxConfig(s.logRoot, "u2");
    const sb = await rt.runPodSandbox(cfg, s.handler ?? "wasm");
    const id = await rt.createContainer(
      sb,
      containerConfig("job", ref, { envs: [{ key: "EXIT_CODE", value: "3" }] }),
      cfg,
    );
    await rt.startContainer(id);
    const exited = await until("the exit", async () => {
      const st = await rt.containerStatus(id);
      return st?.state === "CONTAINER_EXITED" ? st : undefined;
    });
    assert.equal(exited.exitCode, 3);
    assert.equal(exited.reason, "Error");
    assert.match(await Deno.readTextFile(exited.logPath), /^\S+ stdout F /m);
    await rt.removePodSandbox(sb);
  });

  register(
    `${label}: creating a container of an image that is not present fails with CreateContainerError`,
    async () => {
      await using s = await make();
      const cfg = sandboxConfig(s.logRoot, "u3");
      const sb = await s.runtime.runPodSandbox(cfg, s.handler ?? "wasm");
      await assert.rejects(
        () =>
          s.runtime.createContainer(
            sb,
            containerConfig("x", "127.0.0.1:1/missing@sha256:" + "0".repeat(64)),
            cfg,
          ),
        (e) => e instanceof RuntimeError && e.reason === "CreateContainerError",
      );
      await s.runtime.removePodSandbox(sb);
    },
  );
}
