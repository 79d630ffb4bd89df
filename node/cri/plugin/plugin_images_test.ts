import assert from "node:assert/strict";
import { PluginCallError, type PluginObject } from "../../../control/api/plugins.ts";
import { buildPlugin } from "../../../plugins/host/build.ts";
import { testWith } from "../../../tests/harness.ts";
import { busyboxImage, pushImage } from "../../../tests/fixtures/oci/images.ts";
import { startRegistry } from "../../../tests/registry.ts";
import { ImagePullError } from "../api.ts";
import { OCI_PREREQUISITES } from "../oci/testing.ts";
import { authConfig, PluginImages, runtimeMessage } from "./plugin_images.ts";
import { crunPluginHarness, openRuntimeRig } from "./testing.ts";

const spec = (image: string) => ({ image, annotations: [] });

testWith(
  OCI_PREREQUISITES,
  "the crun component serves CRI's image verbs itself, through node-images, idempotently",
  async () => {
    await using h = await crunPluginHarness();
    const image = (await pushImage(h.registry.host, "verbs/busybox", "1", await busyboxImage())).reference;
    // Straight to the guest (no node-side download first, no fallback): its pull-image pulls.
    const call = (op: string, ...args: unknown[]) => h.runner.call(op, args, 30_000);
    const id = await call("pullImage", spec(image), null) as string;
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    assert.equal(await call("pullImage", spec(image), null), id);
    const status = await call("getImageStatus", spec(image)) as {
      id: string;
      size: number;
      repoTags: string[];
    };
    assert.equal(status.id, id);
    assert.ok(status.size > 0);
    assert.deepEqual(status.repoTags, [image]);
    assert.ok((await call("listImages") as { id: string }[]).some((i) => i.id === id));
    // The node knows which images its containers use: those stay.
    h.host.opts.images.inUse = () => new Set([id]);
    await assert.rejects(
      call("removeImage", spec(image)),
      /the plugin returned an error: failed-precondition: .* is in use by a container/,
    );
    h.host.opts.images.inUse = undefined;
    await call("removeImage", spec(image));
    await call("removeImage", spec(image));
    assert.equal(await call("getImageStatus", spec(image)), null);
    const missing = `${h.registry.host}/verbs/does-not-exist:1`;
    await assert.rejects(call("pullImage", spec(missing), null), (e: unknown) => {
      assert.ok(e instanceof PluginCallError);
      assert.match(e.message, /^the plugin returned an error: not-found: .*does-not-exist/);
      return true;
    });
    await assert.rejects(
      call("getImageStatus", spec("Not A Reference")),
      /the plugin returned an error: invalid-argument: Invalid image reference "Not A Reference"/,
    );
  },
);

testWith(
  OCI_PREREQUISITES,
  "pull secrets reach the registry as the plugin's auth-config; a refusal is ErrImagePull with the registry's message",
  async () => {
    await using h = await crunPluginHarness();
    await using reg = await startRegistry({ auth: "htpasswd" });
    const credentials = { username: reg.username, password: reg.password };
    const pushed = await pushImage(reg.host, "private/busybox", "1", await busyboxImage(), { credentials });
    const images = new PluginImages(h.host, h.host.opts.store);

    const anonymous = await images.pullImage({ image: pushed.reference }).catch((e) => e);
    assert.ok(anonymous instanceof ImagePullError, String(anonymous));
    assert.match(anonymous.message, /authentication required/);
    assert.doesNotMatch(anonymous.message, /plugin returned|^denied:/);

    const ref = await images.pullImage({ image: pushed.reference }, { pullSecrets: [reg.dockerConfig] });
    assert.equal(ref, pushed.pinned);
    const status = await images.imageStatus({ image: pushed.reference });
    assert.ok(status && status.size > 0);
    assert.ok((await images.listImages()).some((i) => i.id === status.id));
    await images.removeImage({ image: pushed.reference });
    assert.equal(await images.imageStatus({ image: pushed.reference }), null);

    // The guest's own pull with an auth-config (nothing downloaded by the node first).
    const auth = (password: string) => ({
      ...credentials,
      password,
      auth: "",
      identityToken: "",
      registryToken: "",
    });
    await assert.rejects(
      h.runner.call("pullImage", [spec(pushed.reference), auth("wrong")], 30_000),
      /the plugin returned an error: denied: /,
    );
    const basic = { ...auth(""), username: "", auth: btoa(`${reg.username}:${reg.password}`) };
    assert.equal(await h.runner.call("pullImage", [spec(pushed.reference), basic], 30_000), status.id);
  },
);

// A runtime component built without image verbs (as from an older scaffold): the node serves them.
const NO_IMAGES = `
const no = () => { throw { tag: "unimplemented", val: "not this plugin's" }; };
export const runtimeService = {
  configure() {},
  runPodSandbox: no, stopPodSandbox: no, removePodSandbox: no, getPodSandboxStatus: no,
  listPodSandbox: () => [],
  createContainer: no, startContainer: no, stopContainer: no, containerExited: no,
  removeContainer: no, getContainerStatus: no, listContainers: () => [], execSync: no,
};
export const imageService = { pullImage: no, listImages: no, getImageStatus: no, removeImage: no };
`;

testWith(
  OCI_PREREQUISITES,
  "a runtime plugin whose image verbs answer unimplemented: the node's image store serves them",
  async () => {
    await using rig = await openRuntimeRig("skiff-noimages-");
    await Deno.writeTextFile(`${rig.dir}/plugin.ts`, NO_IMAGES);
    const { bytes } = await buildPlugin({ kind: "runtime", source: `${rig.dir}/plugin.ts` });
    const plugin: PluginObject = {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name: "noimages" },
      spec: { kind: "runtime", image: "builtin:noimages", grants: [] },
    };
    const rt = await rig.start({
      plugin,
      component: await rig.prepare(bytes),
      stateFile: `${rig.dir}/plugins/state/noimages.json`,
    });
    rig.defer(() => rt.stop());
    const pushed = await pushImage(rig.registry.host, "fallback/busybox", "1", await busyboxImage());
    await assert.rejects(rt.runner.call("listImages", [], 5000), /unimplemented/);
    const images = new PluginImages(rt.host, rt.host.opts.store);
    assert.equal(await images.pullImage({ image: pushed.reference }), pushed.pinned);
    const id = (await images.imageStatus({ image: pushed.reference }))?.id;
    assert.ok(id);
    assert.deepEqual((await images.listImages()).map((i) => i.id), [id]);
    await images.removeImage({ image: pushed.reference });
    await images.removeImage({ image: pushed.reference });
    assert.equal(await images.imageStatus({ image: pushed.reference }), null);
    const missing = await images.pullImage({ image: `${rig.registry.host}/fallback/nope:1` }).catch((e) => e);
    assert.ok(missing instanceof ImagePullError);
    assert.match(missing.message, /nope/);
  },
);

Deno.test("authConfig() is the pull secrets' entry for the image's registry; none without one", () => {
  const secret = { auths: { "127.0.0.1:5000": { auth: btoa("alice:pw") } } };
  assert.deepEqual(authConfig("127.0.0.1:5000/team/app:1", [secret]), {
    username: "alice",
    password: "pw",
    auth: "",
    identityToken: "",
    registryToken: "",
  });
  assert.equal(authConfig("127.0.0.1:6000/team/app:1", [secret]), null);
  assert.equal(authConfig("127.0.0.1:5000/team/app:1"), null);
});

Deno.test("runtimeMessage() is the runtime's text without the error variant's tag", () => {
  assert.equal(
    runtimeMessage(
      new PluginCallError(
        "crun",
        "PluginError",
        "the plugin returned an error: not-found: x: manifest unknown",
      ),
    ),
    "x: manifest unknown",
  );
  assert.equal(runtimeMessage(new Error("plain")), "plain");
});
