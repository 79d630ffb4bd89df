/**
 * The runtime (CRI-style) conformance suite, over the WIT verbs of `skiff:runtime@0.1.0`. The
 * implementation (the `crun` component using host-process) comes with the node-side half of
 * plugins. Every verb must be idempotent.
 * @module
 */
import assert from "node:assert/strict";
import type { Case } from "../host/conformance.ts";

const SANDBOX = {
  metadata: { name: "p", uid: "uid-1", namespace: "default", attempt: 0 },
  hostname: "p",
  logDirectory: "/var/log/pods/default_p_uid-1",
  labels: [],
  annotations: [],
  netns: "",
  linux: "{}",
};

const CONTAINER = {
  name: "c",
  attempt: 0,
  image: "busybox",
  command: ["sleep", "30"],
  args: [],
  workingDir: "",
  envs: [],
  mounts: [],
  labels: [],
  annotations: [],
  logPath: "c/0.log",
  linux: "{}",
};

export const runtimeCases: Case[] = [
  {
    name: "image pull, list, status and remove (twice)",
    async fn(newImpl) {
      await using p = await newImpl();
      const spec = { image: "busybox", annotations: [] };
      const id = (await p.call("pullImage", spec, undefined)) as string;
      assert.ok(id);
      const list = (await p.call("listImages")) as { id: string }[];
      assert.ok(list.some((i) => i.id === id));
      assert.ok(await p.call("getImageStatus", spec));
      await p.call("removeImage", spec);
      await p.call("removeImage", spec);
    },
  },
  {
    name: "sandbox run → ready; stop and remove succeed twice",
    async fn(newImpl) {
      await using p = await newImpl();
      const id = (await p.call("runPodSandbox", SANDBOX, "")) as string;
      const st = (await p.call("getPodSandboxStatus", id)) as { state: string };
      assert.equal(st.state, "sandbox-ready");
      await p.call("stopPodSandbox", id);
      await p.call("stopPodSandbox", id);
      await p.call("removePodSandbox", id);
      await p.call("removePodSandbox", id);
    },
  },
  {
    name: "container create → start → running → stop → exited → remove (idempotent)",
    async fn(newImpl) {
      await using p = await newImpl();
      await p.call("pullImage", { image: "busybox", annotations: [] }, undefined);
      const sb = (await p.call("runPodSandbox", SANDBOX, "")) as string;
      const c = (await p.call("createContainer", sb, CONTAINER, SANDBOX)) as string;
      await p.call("startContainer", c);
      assert.equal(((await p.call("getContainerStatus", c)) as { state: string }).state, "container-running");
      const out = (await p.call("execSync", c, ["echo", "hi"], 5n)) as { exitCode: number; stdout: Uint8Array };
      assert.equal(out.exitCode, 0);
      await p.call("stopContainer", c, 1n);
      await p.call("stopContainer", c, 1n);
      assert.equal(((await p.call("getContainerStatus", c)) as { state: string }).state, "container-exited");
      await p.call("removeContainer", c);
      await p.call("removeContainer", c);
      await p.call("removePodSandbox", sb);
    },
  },
];
