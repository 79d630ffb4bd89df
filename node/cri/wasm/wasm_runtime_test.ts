import { testWith } from "../../../tests/harness.ts";
import { fixturePrerequisites } from "../../../tests/fixtures/build.ts";
import { pushFixture } from "../../../tests/fixtures/push.ts";
import { DOCKER_REGISTRY, startRegistry } from "../../../tests/registry.ts";
import { ComponentCache } from "../../../wasm/mod.ts";
import { startBuiltinNetwork } from "../../cni/builtin_network.ts";
import { ipAvailable } from "../../cni/ip.ts";
import { type ConformanceSubject, runtimeConformance } from "../conformance.ts";
import { WasmImageService } from "./image_service.ts";
import { WasmRuntime } from "./wasm_runtime.ts";

const ROOT = {
  name: "root with iproute2",
  available: () => Deno.uid() === 0 && ipAvailable(),
  hint: "run as root with iproute2",
};
const PREREQUISITES = [
  ROOT,
  DOCKER_REGISTRY,
  ...fixturePrerequisites("http_sm"),
  ...fixturePrerequisites("hello_qjs"),
];

let n = 0;

async function subject(): Promise<ConformanceSubject> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-cri-" });
  const registry = await startRegistry();
  const builtin = await startBuiltinNetwork({
    bridge: `skcri${Deno.pid % 1000}x${n}`,
    podCIDR: `198.18.${248 + (n++ % 4)}.0/24`,
    dataDir: `${dir}/network`,
  });
  const network = builtin.network;
  await network.setUp();
  const components = new ComponentCache({ dir: `${dir}/wasm` });
  const images = await WasmImageService.open(`${dir}/images`);
  const runtime = await WasmRuntime.open({
    dir: `${dir}/runtime`,
    volumeRoot: `${dir}/volumes`,
    network,
    images,
    components,
    netnsPrefix: `skcri${Deno.pid % 1000}-`,
    deadlineMs: 2000,
  });
  return {
    runtime,
    images,
    serverImage: (await pushFixture(registry.host, "http_sm")).reference,
    commandImage: (await pushFixture(registry.host, "hello_qjs")).reference,
    allocatedAddresses: async () => [...(await network.allocations()).keys()],
    logRoot: `${dir}/pods`,
    async [Symbol.asyncDispose]() {
      await runtime.close({ keepPods: false });
      components.close();
      await network.tearDown();
      await builtin[Symbol.asyncDispose]();
      await registry.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

runtimeConformance("WasmRuntime", subject, (name, fn) => testWith(PREREQUISITES, name, fn));
