/**
 * The storage conformance suite's implementation factory (plugins/storage/conformance.ts): a
 * storage component in a runner process, as node agents run it, whose `host-mount` grant is
 * served by the real capability ({@linkcode hostMount}) bounded to a fresh scratch root per
 * instance. The node facts every storage plugin gets (`nodeId`, `root`) are added to its
 * settings. Used by the tests and by `./skiff plugin test` for storage plugins. Needs root.
 * @module
 */
import type { Grant, PluginObject } from "../../control/api/plugins.ts";
import type { NewImpl } from "../../plugins/host/conformance.ts";
import { hostCallHandler } from "../../plugins/host/host_calls.ts";
import { PluginCache } from "../../plugins/host/prepare.ts";
import { Runner } from "../../plugins/host/runner_client.ts";
import { unmount } from "../mountns/libc.ts";
import { parseMountInfo } from "../mountns/mount_ns.ts";
import { hostMount } from "./host_mount.ts";

const GRANTS: Grant[] = [{ capability: "log" }, { capability: "state" }, { capability: "host-mount" }];

/** Unmounts everything under `dir` (deepest first). */
export function unmountUnder(dir: string): void {
  const points = parseMountInfo(Deno.readTextFileSync("/proc/self/mountinfo")).map((m) => m.mountPoint)
    .filter((p) => p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const p of points) unmount(p, true);
}

/** A storage implementation factory over a component's bytes. */
export function storageImpl(bytes: () => Promise<Uint8Array>, opts: { cacheDir?: string } = {}): NewImpl {
  return async (settings = "{}") => {
    const dir = await Deno.makeTempDir({ prefix: "skiff-storage-conformance-" });
    const root = `${dir}/root`;
    await Deno.mkdir(root);
    const plugin = {
      metadata: { name: "conformance" },
      spec: { kind: "storage", image: "test", grants: GRANTS },
    } as PluginObject;
    const runner = await (async () => {
      using cache = new PluginCache(
        opts.cacheDir ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/skiff-plugin-conformance`,
      );
      const component = await cache.prepare("storage", await bytes());
      return await Runner.start({
        config: {
          plugin: "conformance",
          kind: "storage",
          component,
          settings: JSON.stringify({
            ...JSON.parse(settings),
            nodeId: "conformance-node",
            root: `${root}/volumes`,
          }),
          grants: GRANTS,
          memoryBytes: 64 << 20,
        },
        onHostCall: hostCallHandler(plugin, { "host-mount": (grant) => hostMount(grant, [root]) }),
      });
    })().catch(async (e) => {
      await Deno.remove(dir, { recursive: true });
      throw e;
    });
    return {
      call: (op, ...args) => runner.call(op, args, 5000),
      volumeRoot: root,
      async [Symbol.asyncDispose]() {
        await runner.stop(1000);
        unmountUnder(dir);
        await Deno.remove(dir, { recursive: true });
      },
    };
  };
}
