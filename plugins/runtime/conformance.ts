/**
 * The runtime (CRI-style) conformance suite, over the WIT verbs of `skiff:runtime@0.2.0` (and
 * 0.1.0, whose verbs answer ids where 0.2.0's answer statuses). A
 * runtime plugin is run with its node-side half (node/cri/plugin/runtime_host.ts: it waits for
 * creates and exits, which no guest call may do), so the implementation under test is the two
 * together; it names the image to use (`image`, pushed to a registry it can pull from) and a
 * scratch log directory (`logDirectory`). Every verb must be idempotent.
 * @module
 */
import assert from "node:assert/strict";
import type { Case, PluginImpl } from "../host/conformance.ts";
import { errorVariant } from "../host/plugin_error.ts";

/** What a runtime implementation under test provides besides its verbs. */
export interface RuntimeFixtures {
  /** A pullable busybox image with `sleep` and `echo`. */
  image?: string;
  /** Where container logs go (default a folder under TMPDIR). */
  logDirectory?: string;
}

function fixtures(p: PluginImpl) {
  const f = p as PluginImpl & RuntimeFixtures;
  const image = f.image ?? "busybox";
  const sandbox = {
    metadata: { name: "p", uid: "uid-1", namespace: "default", attempt: 0 },
    hostname: "p",
    logDirectory: f.logDirectory ??
      `${Deno.env.get("TMPDIR") ?? "/tmp"}/skiff-runtime-conformance/default_p_uid-1`,
    labels: [],
    annotations: [],
    netns: "",
    ip: undefined,
    podDir: "",
    linux: "{}",
  };
  const container = {
    name: "c",
    attempt: 0,
    image,
    command: ["sleep", "30"],
    args: [],
    workingDir: "",
    envs: [],
    mounts: [],
    labels: [],
    annotations: [],
    logPath: "c/0.log",
    linux: "{}",
    stdin: false,
    stdinOnce: false,
    tty: false,
  };
  return { image, sandbox, container };
}

/**
 * The error variant a call failed with: the plugin's (`the plugin returned an error: <tag>: …`)
 * or the node's (a host call's variant); undefined when the call succeeds.
 */
async function errorTag(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { variant?: { tag?: string } })?.variant?.tag ?? errorVariant(e)?.tag ??
      `not an error variant: ${e}`;
  }
}

/** The fixtures' image pulled, their sandbox run and its container created (not started). */
async function createdContainer(p: PluginImpl) {
  const { image, sandbox, container } = fixtures(p);
  await p.call("pullImage", { image, annotations: [] }, undefined);
  const sb = (await p.call("runPodSandbox", sandbox, "")) as string;
  const c = (await p.call("createContainer", sb, container, sandbox)) as string;
  return { sandbox, sb, c };
}

export const runtimeCases: Case[] = [
  {
    name: "image pull (twice: one id), status, list, remove (twice), status after remove: none",
    async fn(newImpl) {
      await using p = await newImpl();
      const spec = { image: fixtures(p).image, annotations: [] };
      const id = (await p.call("pullImage", spec, undefined)) as string;
      assert.match(id, /^sha256:[a-f0-9]{64}$/, "the image id is its config's digest");
      assert.equal(await p.call("pullImage", spec, undefined), id, "pulling a present image answers its id");
      const status = (await p.call("getImageStatus", spec)) as { id: string; size: number } | null;
      assert.equal(status?.id, id);
      assert.ok(Number(status?.size) > 0, "the status has the image's size");
      assert.equal(((await p.call("getImageStatus", { image: id, annotations: [] })) as { id: string })?.id, id);
      const list = (await p.call("listImages")) as { id: string; repoTags: string[] }[];
      assert.ok(list.some((i) => i.id === id), "the pulled image is listed");
      await p.call("removeImage", spec);
      await p.call("removeImage", spec);
      assert.equal(await p.call("getImageStatus", spec), null, "no status after remove");
      assert.ok(!((await p.call("listImages")) as { id: string }[]).some((i) => i.id === id));
    },
  },
  {
    name: "a malformed reference is invalid-argument; an image the registry lacks is not-found",
    async fn(newImpl) {
      await using p = await newImpl();
      const image = fixtures(p).image;
      for (const bad of ["Not A Reference", "busybox@sha256:short", ""]) {
        for (const op of ["pullImage", "getImageStatus", "removeImage"]) {
          const args = op === "pullImage" ? [{ image: bad, annotations: [] }, undefined] : [{ image: bad, annotations: [] }];
          assert.equal(await errorTag(p.call(op, ...args)), "invalid-argument", `${op} ${JSON.stringify(bad)}`);
        }
      }
      const missing = `${image.slice(0, image.lastIndexOf("/"))}/does-not-exist:1`;
      assert.equal(await errorTag(p.call("pullImage", { image: missing, annotations: [] }, undefined)), "not-found");
      assert.equal(await p.call("getImageStatus", { image: missing, annotations: [] }), null);
      await p.call("removeImage", { image: missing, annotations: [] });
    },
  },
  {
    name: "sandbox run → ready; stop and remove succeed twice",
    async fn(newImpl) {
      await using p = await newImpl();
      const { sandbox: SANDBOX } = fixtures(p);
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
      const { sb, c } = await createdContainer(p);
      await p.call("startContainer", c);
      assert.equal(((await p.call("getContainerStatus", c)) as { state: string }).state, "container-running");
      const out = (await p.call("execSync", c, ["echo", "hi"], 5n)) as {
        exitCode: number;
        stdout: Uint8Array;
      };
      assert.equal(out.exitCode, 0);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "hi");
      await p.call("stopContainer", c, 1n);
      await p.call("stopContainer", c, 1n);
      assert.equal(((await p.call("getContainerStatus", c)) as { state: string }).state, "container-exited");
      await p.call("removeContainer", c);
      await p.call("removeContainer", c);
      await assert.rejects(p.call("getContainerStatus", c));
      await p.call("removePodSandbox", sb);
    },
  },
  {
    // The node creates a pod's containers while its network is set up, then runs the sandbox
    // again with the pod's IP (node/cri/plugin/plugin_oci_runtime.ts).
    name:
      "a sandbox takes containers before its IP; run again with the IP, it is the same one and reports it",
    async fn(newImpl) {
      await using p = await newImpl();
      const { sandbox: SANDBOX, sb, c } = await createdContainer(p);
      assert.equal(((await p.call("getPodSandboxStatus", sb)) as { ip?: string }).ip ?? undefined, undefined);
      const withIp = { ...SANDBOX, ip: "198.18.0.7" };
      assert.equal(await p.call("runPodSandbox", withIp, ""), sb);
      assert.equal(await p.call("runPodSandbox", withIp, ""), sb);
      assert.equal(((await p.call("getPodSandboxStatus", sb)) as { ip?: string }).ip, "198.18.0.7");
      assert.ok(
        ((await p.call("listPodSandbox")) as { id: string; ip?: string }[]).some((s) =>
          s.id === sb && s.ip === "198.18.0.7"
        ),
      );
      await p.call("startContainer", c);
      assert.equal(((await p.call("getContainerStatus", c)) as { state: string }).state, "container-running");
      await p.call("removePodSandbox", sb);
    },
  },
  {
    // 0.2.0: the node reads no status back after these verbs (node/cri/plugin/container_lists.ts).
    name:
      "the statuses run-pod-sandbox, create-container and start-container answer (0.2.0) are the plugin's own; kept lists match its list",
    async fn(newImpl) {
      await using p = await newImpl();
      const { image, sandbox: SANDBOX, container } = fixtures(p);
      await p.call("pullImage", { image, annotations: [] }, undefined);
      const made = (await p.call("runPodSandboxStatus", SANDBOX, "")) as { id: string; status?: unknown };
      const sb = made.id;
      // The plugin's list of the sandbox, not the node's kept one: the node-wide list.
      const plugins = async () =>
        ((await p.call("listContainers")) as { id: string; podSandboxId: string }[])
          .filter((x) => x.podSandboxId === sb).sort((a, b) => a.id.localeCompare(b.id));
      if (made.status) assert.deepEqual(made.status, await p.call("getPodSandboxStatus", sb));
      const withIp = { ...SANDBOX, ip: "198.18.0.9" };
      const again = (await p.call("runPodSandboxStatus", withIp, "")) as { id: string; status?: { ip?: string } };
      assert.equal(again.id, sb);
      if (again.status) {
        assert.equal(again.status.ip, "198.18.0.9");
        assert.deepEqual(again.status, await p.call("getPodSandboxStatus", sb));
      }
      assert.deepEqual(await p.call("listContainers", sb), [], "a new sandbox has no containers");
      const c = (await p.call("createContainer", sb, container, withIp)) as string;
      assert.deepEqual(await p.call("listContainers", sb), await plugins());
      await p.call("startContainer", c);
      const kept = (await p.call("listContainers", sb)) as { id: string; state: string }[];
      assert.equal(kept.find((x) => x.id === c)?.state, "container-running");
      assert.deepEqual(kept, await plugins());
      assert.deepEqual(await p.call("getContainerStatus", c), (await plugins())[0]);
      await p.call("stopContainer", c, 0n);
      const stopped = (await p.call("listContainers", sb)) as { id: string; state: string }[];
      assert.equal(stopped.find((x) => x.id === c)?.state, "container-exited", "a stop is not served from the kept list");
      assert.deepEqual(stopped, await plugins());
      await p.call("removePodSandbox", sb);
    },
  },
];
