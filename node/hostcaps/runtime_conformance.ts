/**
 * The runtime conformance suite's environment (plugins/runtime/conformance.ts) on this machine:
 * a runtime component run as node agents run it — in a runner, its `host-process` and
 * `node-images` calls served by the node ({@linkcode runtimeHostCalls}), with the node's half
 * ({@linkcode RuntimeHost}: waits, exits, images) over a private mount namespace, an image store
 * and a test registry holding busybox. Used by `./skiff plugin test` for runtime plugins and by
 * tests/plugins_authoring_test.ts. Needs root, crun, conmon, docker-registry and busybox-static
 * (`OCI_PREREQUISITES`).
 * @module
 */
import type { Grant, PluginObject } from "../../control/api/plugins.ts";
import type { Case, NewImpl } from "../../plugins/host/conformance.ts";
import { runtimeCases } from "../../plugins/runtime/conformance.ts";
import { busyboxImage, pushImage } from "../../tests/fixtures/oci/images.ts";
import { CRUN_GRANTS } from "../cri/plugin/runtime_host.ts";
import { openRuntimeRig } from "../cri/plugin/testing.ts";

/** The suite for a runtime component, with its environment; dispose it to remove what it made. */
export interface RuntimeSuite extends AsyncDisposable {
  cases: Case[];
  newImpl: NewImpl;
}

/**
 * Starts the environment for a runtime component's bytes. `grants` default to the built-in
 * `crun`'s (`host-process` for /usr/bin/crun and /usr/bin/conmon, `state`, `log`).
 */
export async function runtimeSuite(
  bytes: () => Promise<Uint8Array>,
  opts: { name?: string; grants?: Grant[] } = {},
): Promise<RuntimeSuite> {
  const name = opts.name ?? "under-test";
  const grants = opts.grants ?? CRUN_GRANTS;
  const rig = await openRuntimeRig("skiff-runtime-conformance-");
  try {
    const image = (await pushImage(rig.registry.host, "conformance/busybox", "1", await busyboxImage())).reference;
    const component = await rig.prepare(await bytes());
    const plugin: PluginObject = {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name },
      spec: { kind: "runtime", image: "conformance:under-test", grants },
    };
    let impl = 0;
    const newImpl: NewImpl = async (settings = "{}") => {
      // A fresh runner and state store per case, over the same node (as a Plugin's new generation).
      const { host, stop } = await rig.start({
        plugin,
        component,
        settings,
        stateFile: `${rig.dir}/plugins/state/${name}-${impl++}.json`,
      });
      const verbs = host as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return {
        image,
        logDirectory: `${rig.dir}/pods/default_p_uid-1`,
        call: (op: string, ...args: unknown[]) => {
          if (typeof verbs[op] !== "function") return Promise.reject(new Error(`no runtime verb ${op}`));
          return verbs[op](...args);
        },
        [Symbol.asyncDispose]: stop,
      };
    };
    return { cases: runtimeCases, newImpl, [Symbol.asyncDispose]: () => rig[Symbol.asyncDispose]() };
  } catch (e) {
    await rig[Symbol.asyncDispose]();
    throw e;
  }
}
