/**
 * Test helpers for the OCI runtime: prerequisites, and a node's runtimes (crun + Wasm) on a
 * private bridge with a test registry, torn down on dispose.
 * @module
 */
import { startBuiltinNetwork } from "../../cni/builtin_network.ts";
import type { PluginNetwork } from "../../cni/plugin_network.ts";
import { ipAvailable, localSubnets } from "../../cni/ip.ts";
import type { Prerequisite } from "../../../tests/harness.ts";
import { DOCKER_REGISTRY, startRegistry, type TestRegistry } from "../../../tests/registry.ts";
import { BUSYBOX_STATIC } from "../../../tests/fixtures/oci/images.ts";
import type { ContainerConfig, PodSandboxConfig } from "../api.ts";
import { containerConfig } from "../conformance.ts";
import { ociToolsMissing } from "./crun.ts";
import { nodeRuntime, type NodeRuntimeSettings } from "./mod.ts";
import { BUILTIN_PLUGINS, builtinPluginObject } from "../../../control/api/builtin_plugins.ts";
import { NodePlugins } from "../../plugins.ts";

export const OCI_ROOT: Prerequisite = {
  name: "root with iproute2",
  available: () => Deno.uid() === 0 && ipAvailable(),
  hint: "run as root with iproute2",
};

export const CRUN: Prerequisite = {
  name: "crun and conmon",
  available: () => ociToolsMissing() === undefined,
  hint: "apt-get install crun conmon",
};

export const OCI_PREREQUISITES: Prerequisite[] = [OCI_ROOT, CRUN, DOCKER_REGISTRY, BUSYBOX_STATIC];

let n = 0;

/** A /24 of 198.18.160–243 that no interface of this machine (other tests, other nodes) uses. */
export async function freeRange(): Promise<string> {
  const used = await localSubnets();
  const overlaps = (third: number) =>
    used.some((cidr) => {
      const [addr, bits] = cidr.split("/");
      const [a, b, c] = addr.split(".").map(Number);
      if (a !== 198 || b !== 18) return Number(bits) < 16 && a === 198;
      const size = 2 ** Math.max(0, 24 - Number(bits));
      return third >= c && third < c + size;
    });
  const start = 160 + Math.floor(Math.random() * 84);
  for (let i = 0; i < 84; i++) {
    const third = 160 + ((start - 160 + i) % 84);
    if (!overlaps(third)) return `198.18.${third}.0/24`;
  }
  throw new Error("no free /24 in 198.18.160.0-198.18.243.255 for the test bridge");
}

export type TestRuntime = Awaited<ReturnType<ReturnType<typeof nodeRuntime>>>;

/** A node's runtimes on a private bridge and pod range, and a registry. */
export interface OciHarness extends AsyncDisposable {
  dir: string;
  registry: TestRegistry;
  /** The built-in `bridge` + `host-local` components, run as on a node. */
  network: PluginNetwork;
  rt: TestRuntime;
  /** Opens the runtimes again on the same state (after `rt.close({ keepPods: true })`). */
  reopen(settings?: NodeRuntimeSettings): Promise<TestRuntime>;
  sandboxConfig(name: string, extra?: Partial<PodSandboxConfig>): PodSandboxConfig;
  containerConfig(name: string, image: string, extra?: Partial<ContainerConfig>): ContainerConfig;
}

export async function ociHarness(settings: NodeRuntimeSettings = {}): Promise<OciHarness> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-oci-" });
  const registry = await startRegistry();
  const k = n++;
  const podCIDR = await freeRange();
  let builtin;
  try {
    builtin = await startBuiltinNetwork({ bridge: `skoci${Deno.pid % 1000}x${k}`, podCIDR, dataDir: `${dir}/network` });
  } catch (e) {
    await registry.close();
    throw e;
  }
  const network = builtin.network;
  await network.setUp();
  // The OCI driver: the built-in `crun` Plugin, loaded as a node loads it (no API server here).
  const runtimePlugins = new NodePlugins({
    plugins: BUILTIN_PLUGINS.filter((b) => b.name === "crun").map(builtinPluginObject),
    nodeName: "n",
    dataDir: `${dir}/node/runtime-plugins`,
    labels: () => ({}),
    log: () => {},
  });
  await runtimePlugins.start();
  const open = (s: NodeRuntimeSettings) =>
    nodeRuntime(s)({ dataDir: `${dir}/node`, nodeName: "n", network, podCIDR, plugins: runtimePlugins });
  let rt: TestRuntime;
  try {
    rt = await open(settings);
  } catch (e) {
    await runtimePlugins.stop();
    await network.tearDown();
    await builtin[Symbol.asyncDispose]();
    await registry.close();
    throw e;
  }
  const h: OciHarness = {
    dir,
    registry,
    network,
    rt,
    async reopen(s = settings) {
      h.rt = await open(s);
      return h.rt;
    },
    sandboxConfig: (name, extra = {}) => ({
      metadata: { name, namespace: "default", uid: `${name}-${crypto.randomUUID()}`, attempt: 0 },
      hostname: name,
      logDirectory: `${dir}/pods/${name}`,
      labels: {},
      annotations: {},
      portMappings: [],
      linux: { sysctls: {} },
      ...extra,
    }),
    containerConfig: (name, image, extra = {}) =>
      containerConfig(name, image, {
        linux: { resources: {}, securityContext: { noNewPrivs: true, seccomp: { profileType: "RuntimeDefault" } } },
        ...extra,
      }),
    async [Symbol.asyncDispose]() {
      try {
        await h.rt.close({ keepPods: false });
      } finally {
        await runtimePlugins.stop();
        await network.tearDown();
        await builtin[Symbol.asyncDispose]();
        await registry.close();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
  return h;
}

