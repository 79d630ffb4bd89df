/**
 * The harness of the network tests (services, DNS, Ingress, NetworkPolicy): a real control plane,
 * scheduler, controllers, registry and node agent — as tests/node_test.ts starts them — with the
 * network add-ons configured per test, plus client "pods": network namespaces this test creates,
 * wired into the node's bridge with an address of the pod CIDR, in which commands (curl) run with
 * the cluster DNS in their resolv.conf (`ip netns exec` mounts `/etc/netns/<name>/resolv.conf`).
 *
 * Every address used is the node's own pod range (198.18.0.0/16) or a Service IP (198.19.0.0/16).
 * @module
 */
import { Client, R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import type { ControllerManagerOptions } from "../control/controllers/manager.ts";
import { ipToString, parseCidr } from "../control/api/cidr.ts";
import { ipAvailable, localSubnets } from "../node/cni/ip.ts";
import { overlaps } from "../node/registration/pod_cidr.ts";
import { ensureRuntimeClass, type NodeAgent, startNodeAgent, wasmRuntime } from "../node/mod.ts";
import type { NetworkAddonOptions } from "../node/proxy/addons.ts";
import { nftInstalled } from "../node/proxy/nft.ts";
import { KUBECTL, type KubectlResult, type Prerequisite } from "./harness.ts";
import { startTestControlPlane } from "./test_control_plane.ts";
import { DOCKER_REGISTRY, type TestRegistry } from "./registry.ts";
import { fixturePrerequisites } from "./fixtures/build.ts";

/** Root with iproute2: the agent makes network namespaces and a bridge. */
export const NODE_PRIVILEGES: Prerequisite = {
  name: "root with iproute2",
  available: () => Deno.uid() === 0 && ipAvailable(),
  hint: "run as root on Linux with iproute2 (apt-get install iproute2)",
};

/** nftables (`nft`) for the kernel proxy and NetworkPolicy. */
export const NFTABLES: Prerequisite = {
  name: "nftables",
  available: nftInstalled,
  hint: "apt-get install nftables",
};

/** curl, run inside client network namespaces. */
export const CURL: Prerequisite = {
  name: "curl",
  available: () => {
    try {
      return Deno.statSync("/usr/bin/curl").isFile;
    } catch {
      return false;
    }
  },
  hint: "apt-get install curl",
};

export const NETWORK_PREREQUISITES: Prerequisite[] = [
  NODE_PRIVILEGES,
  NFTABLES,
  CURL,
  KUBECTL,
  DOCKER_REGISTRY,
  ...fixturePrerequisites("http_sm"),
];

export interface NetworkCluster extends AsyncDisposable {
  url: string;
  dataDir: string;
  client: Client;
  registry: TestRegistry;
  agent: NodeAgent;
  bridge: string;
  gateway: string;
  podCIDR: string;
  kubectl(args: string[], stdin?: string, timeoutMs?: number): Promise<KubectlResult>;
  /** A client pod: a test network namespace on the bridge (removed on close). */
  clientPod(opts?: { dns?: boolean }): Promise<ClientPod>;
  close(): Promise<void>;
}

export interface ClientPod {
  ns: string;
  ip: string;
  /** Runs a command inside the namespace. */
  run(cmd: string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `curl -s` with a time limit; resolves to the body and the HTTP code (0: no answer). */
  curl(url: string, extra?: string[], maxTimeS?: number): Promise<{ code: number; body: string }>;
  close(): Promise<void>;
}

let clusters = 0;
let clientPods = 0;

/** Runs a command (killed after `timeoutMs`); resolves to its exit code and output. */
export async function sh(
  cmd: string[],
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* done */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

export interface NetworkClusterOptions {
  network?: NetworkAddonOptions;
  /** Extra controllers beyond the defaults ("*"). */
  controllers?: string[];
}

/** Starts a cluster with one node running the network add-ons as `opts.network` says. */
export async function startNetworkCluster(opts: NetworkClusterOptions = {}): Promise<NetworkCluster> {
  // Pod CIDRs avoid the subnets other clusters on this machine already use (as ./skiff up does).
  const reservedCIDRs = (await localSubnets().catch(() => [] as string[])).filter((s) =>
    overlaps(s, "198.18.0.0/16")
  );
  const base = await startTestControlPlane("skiff-net-test-", {
    controllers: opts.controllers ?? ["*"],
    nodeIpam: { reservedCIDRs },
  } as ControllerManagerOptions);
  const { client, dataDir, kubeconfig, registry } = base;
  await ensureRuntimeClass(client, "wasm");
  const bridge = `sknet${Deno.pid % 1000}x${clusters++}`;
  let agent: NodeAgent;
  try {
    agent = await startNodeAgent({
      server: base.url,
      name: "node-1",
      dataDir: `${dataDir}/node`,
      port: 0,
      bridge,
      backoff: { baseMs: 300, capMs: 2000 },
      leaseIntervalMs: 2000,
      runtime: wasmRuntime({ deadlineMs: 1500 }),
      network: opts.network ?? {},
    });
  } catch (e) {
    await base.close();
    throw e;
  }
  const pods: ClientPod[] = [];
  const podCIDR = agent.podCIDR;
  const gateway = agent.network.gateway;
  let closed: Promise<void> | undefined;
  const cluster: NetworkCluster = {
    url: base.url,
    dataDir,
    client,
    registry,
    agent,
    bridge,
    gateway,
    podCIDR,
    kubectl: async (args, stdin, timeoutMs = 60_000) => {
      const child = new Deno.Command("/usr/bin/kubectl", {
        args: ["--kubeconfig", kubeconfig, "--cache-dir", `${dataDir}/kube-cache`, ...args],
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      }
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const out = await child.output();
      clearTimeout(timer);
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    },
    async clientPod(o = {}) {
      const pod = await createClientPod({ bridge, podCIDR, gateway }, o);
      pods.push(pod);
      return pod;
    },
    close: () =>
      closed ??= (async () => {
        try {
          for (const p of pods) await p.close();
          await cluster.agent.stop();
        } finally {
          await base.close();
        }
      })(),
    [Symbol.asyncDispose]: () => cluster.close(),
  };
  return cluster;
}

/**
 * A client pod on a node's bridge: a network namespace with a high address of the node's pod CIDR
 * (which the node's IPAM, allocating from the bottom, does not reach in tests), a default route
 * via the gateway and, unless `dns: false`, the cluster DNS on the gateway in its resolv.conf.
 * Close it to remove it.
 */
export async function createClientPod(
  node: { bridge: string; podCIDR: string; gateway: string },
  o: { dns?: boolean } = {},
): Promise<ClientPod> {
  const { bridge, podCIDR, gateway } = node;
  const k = clientPods++;
  const ns = `skc${Deno.pid % 1000}x${k}`;
  const cidr = parseCidr(podCIDR);
  const size = 2 ** (32 - cidr.bits);
  const ip = ipToString(cidr.base + size - 2 - (k % 200));
  const veth = `skv${Deno.pid % 1000}x${k}`;
  const steps = [
    ["ip", "netns", "add", ns],
    ["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns],
    ["ip", "link", "set", veth, "master", bridge, "up"],
    ["ip", "-n", ns, "link", "set", "lo", "up"],
    ["ip", "-n", ns, "addr", "add", `${ip}/${cidr.bits}`, "dev", "eth0"],
    ["ip", "-n", ns, "link", "set", "eth0", "up"],
    ["ip", "-n", ns, "route", "add", "default", "via", gateway],
  ];
  for (const s of steps) {
    const r = await sh(s);
    if (r.code !== 0) throw new Error(`${s.join(" ")}: ${r.stderr}`);
  }
  if (o.dns !== false) {
    await Deno.mkdir(`/etc/netns/${ns}`, { recursive: true });
    await Deno.writeTextFile(
      `/etc/netns/${ns}/resolv.conf`,
      `search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${gateway}\noptions ndots:5 timeout:1 attempts:2\n`,
    );
  }
  const pod: ClientPod = {
    ns,
    ip,
    run: (cmd, timeoutMs) => sh(["ip", "netns", "exec", ns, ...cmd], timeoutMs),
    async curl(url, extra = [], maxTimeS = 3) {
      const r = await sh([
        "ip",
        "netns",
        "exec",
        ns,
        "curl",
        "-s",
        "--max-time",
        String(maxTimeS),
        "-w",
        "\n%{http_code}",
        ...extra,
        url,
      ], (maxTimeS + 5) * 1000);
      const i = r.stdout.lastIndexOf("\n");
      return { code: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(0, i)) };
    },
    async close() {
      await sh(["ip", "netns", "del", ns]);
      await Deno.remove(`/etc/netns/${ns}`, { recursive: true }).catch(() => {});
    },
  };
  return pod;
}

/** A Deployment of the http_sm component. */
export function wasmDeployment(
  name: string,
  image: string,
  opts: {
    replicas?: number;
    labels?: Record<string, string>;
    greeting?: string;
    namespace?: string;
    port?: number;
  } = {},
): KubeObject {
  const labels = opts.labels ?? { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: opts.namespace ?? "default" },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          runtimeClassName: "wasm",
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "web",
            image,
            ports: [{ name: "http", containerPort: opts.port ?? 8080 }],
            env: [{ name: "GREETING", value: opts.greeting ?? name }],
          }],
        },
      },
    },
  };
}

/** A Service. */
export function service(
  name: string,
  spec: Record<string, unknown>,
  namespace = "default",
): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec };
}

/** Ready pods of a label selector. */
export async function readyPods(
  c: { client: Client },
  selector: string,
  ns = "default",
): Promise<KubeObject[]> {
  const pods = (await c.client.list(R.pods, ns, { labelSelector: selector })).items;
  return pods.filter((p) =>
    !p.metadata.deletionTimestamp &&
    p.status?.conditions?.some((x: { type: string; status: string }) =>
      x.type === "Ready" && x.status === "True"
    )
  );
}
