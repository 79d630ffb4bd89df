/**
 * Captures the protobuf request bodies kubectl sends, as test fixtures for the decoder.
 *
 * Starts a control plane on a temporary KV, puts a recording proxy in front of it and runs each
 * command of {@link CAPTURES} through the proxy. For each it writes `<label>.pb` (the first body
 * sent as `application/vnd.kubernetes.protobuf`, exactly as received) and, when the command
 * supports `--dry-run=client -o json`, `<label>.json`: the object kubectl would have sent as JSON,
 * which is what the decoder must produce. The server may refuse the protobuf body (that is the
 * point of the decoder); the body is recorded all the same. (`kubectl drain` and `kubectl run` are not
 * here: kubectl 1.32 sends Evictions and Pods as JSON.) Set `CAPTURE_DEBUG=1` to log every write's content type.
 *
 * Run from the repository root (needs kubectl on PATH):
 * `deno run -A control/apiserver/protobuf/testdata/capture.ts [outDir]`
 * @module
 */
import { writeKubeconfig } from "../../../../cli/kubeconfig.ts";
import { denoFmtJson } from "../../../api/schema/generate.ts";
import { startControlPlane } from "../../../mod.ts";

/** One kubectl invocation whose protobuf body is recorded under `label`. */
export interface Capture {
  label: string;
  args: string[];
  /** Whether `--dry-run=client -o json` prints the same object (not for subresources). */
  dryRun: boolean;
}

/** Objects created as JSON (`kubectl apply`) before the captures: the captures refer to them. */
const SETUP = [
  { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace: "default" } },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "app", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "app" } },
      template: {
        metadata: { labels: { app: "app" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  },
];

/** Binary bytes that are not UTF-8, for ConfigMap binaryData and Secret data. */
const BINARY = new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a, 0xc3, 0x28]);

export const CAPTURES: Capture[] = [
  {
    label: "configmap",
    args: ["create", "configmap", "cm1", "--from-literal=a=b", "--from-literal=empty="],
    dryRun: true,
  },
  {
    label: "configmap_binary",
    args: ["create", "configmap", "cm2", "--from-file=bin=@BINARY", "--from-literal=t=x"],
    dryRun: true,
  },
  {
    label: "secret",
    args: ["create", "secret", "generic", "s1", "--from-literal=user=admin", "--from-file=bin=@BINARY"],
    dryRun: true,
  },
  {
    label: "secret_docker",
    args: [
      "create",
      "secret",
      "docker-registry",
      "reg",
      "--docker-server=r.example",
      "--docker-username=u",
      "--docker-password=p",
    ],
    dryRun: true,
  },
  {
    label: "deployment",
    args: ["create", "deployment", "web", "--image=nginx:1.27", "--replicas=0", "--port=8080"],
    dryRun: true,
  },
  {
    label: "deployment_cmd",
    args: ["create", "deployment", "cmd", "--image=busybox", "--replicas=3", "--", "sleep", "3600"],
    dryRun: true,
  },
  { label: "namespace", args: ["create", "namespace", "team-a"], dryRun: true },
  {
    label: "service",
    args: ["create", "service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:https"],
    dryRun: true,
  },
  {
    label: "service_nodeport",
    args: ["create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"],
    dryRun: true,
  },
  {
    label: "service_headless",
    args: ["create", "service", "clusterip", "headless", "--clusterip=None"],
    dryRun: true,
  },
  {
    label: "service_external",
    args: ["create", "service", "externalname", "ext", "--external-name=example.com"],
    dryRun: true,
  },
  { label: "job", args: ["create", "job", "j1", "--image=busybox", "--", "echo", "hi"], dryRun: true },
  {
    label: "cronjob",
    args: [
      "create",
      "cronjob",
      "cj",
      "--image=busybox",
      "--schedule=*/5 * * * *",
      "--restart=OnFailure",
      "--",
      "date",
    ],
    dryRun: true,
  },
  {
    label: "quota",
    args: ["create", "quota", "q", "--hard=cpu=1500m,memory=1Gi,pods=2", "--scopes=NotTerminating"],
    dryRun: true,
  },
  {
    label: "priorityclass",
    args: [
      "create",
      "priorityclass",
      "high",
      "--value=1000",
      "--description=important",
      "--preemption-policy=Never",
    ],
    dryRun: true,
  },
  {
    label: "pdb",
    args: ["create", "poddisruptionbudget", "pdb1", "--selector=app=web", "--min-available=50%"],
    dryRun: true,
  },
  {
    label: "pdb_int",
    args: ["create", "poddisruptionbudget", "pdb2", "--selector=app=web", "--max-unavailable=1"],
    dryRun: true,
  },
  {
    label: "role",
    args: [
      "create",
      "role",
      "r1",
      "--verb=get,list",
      "--resource=pods,deployments.apps",
      "--resource-name=x",
    ],
    dryRun: true,
  },
  {
    label: "rolebinding",
    args: ["create", "rolebinding", "rb1", "--role=r1", "--user=alice", "--serviceaccount=default:robot"],
    dryRun: true,
  },
  {
    label: "clusterrole",
    args: ["create", "clusterrole", "cr1", "--verb=get", "--non-resource-url=/healthz"],
    dryRun: true,
  },
  {
    label: "clusterrolebinding",
    args: ["create", "clusterrolebinding", "crb1", "--clusterrole=cr1", "--group=devs"],
    dryRun: true,
  },
  { label: "serviceaccount", args: ["create", "serviceaccount", "sa1"], dryRun: true },
  {
    label: "ingress",
    args: ["create", "ingress", "ing", "--class=nginx", "--rule=foo.com/bar*=svc1:80,tls=cert"],
    dryRun: true,
  },
  { label: "token", args: ["create", "token", "robot", "--duration=15m", "--audience=api"], dryRun: false },
  {
    label: "can_i",
    args: ["auth", "can-i", "create", "deployments.apps", "--subresource=scale", "-n", "default"],
    dryRun: false,
  },
  { label: "can_i_list", args: ["auth", "can-i", "--list", "-n", "default"], dryRun: false },
  { label: "whoami", args: ["auth", "whoami"], dryRun: false },
  {
    label: "hpa",
    args: ["autoscale", "deployment", "app", "--min=1", "--max=3", "--cpu-percent=50"],
    dryRun: true,
  },
];

async function run(
  kubeconfig: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await child.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

async function main(outDir: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-capture-" });
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0 });
  let current = "";
  const bodies = new Map<string, Uint8Array>();
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const type = req.headers.get("content-type") ?? "";
    if (Deno.env.get("CAPTURE_DEBUG") && req.method !== "GET") {
      console.error(`debug: ${req.method} ${url.pathname} ${type}`);
    }
    if (type.startsWith("application/vnd.kubernetes.protobuf") && body && !bodies.has(current)) {
      bodies.set(current, body);
      console.error(`${current}: ${req.method} ${url.pathname} ${type} (${body.length} bytes)`);
    }
    return await fetch(cp.url + url.pathname + url.search, {
      method: req.method,
      headers: req.headers,
      body,
    });
  });
  const kubeconfig = `${dir}/kubeconfig`;
  await writeKubeconfig(kubeconfig, `http://127.0.0.1:${proxy.addr.port}`);
  await Deno.writeFile(`${dir}/binary`, BINARY);
  try {
    for (const obj of SETUP) {
      const r = await run(kubeconfig, ["apply", "-f", "-"], JSON.stringify(obj));
      if (r.code !== 0) throw new Error(`setup failed: ${r.err}`);
    }
    await Deno.mkdir(outDir, { recursive: true });
    for (const c of CAPTURES) {
      const args = c.args.map((a) => a.replace("@BINARY", `${dir}/binary`));
      current = c.label;
      const sent = await run(kubeconfig, args);
      const body = bodies.get(c.label);
      if (!body) throw new Error(`${c.label}: kubectl sent no protobuf body: ${sent.out}${sent.err}`);
      await Deno.writeFile(`${outDir}/${c.label}.pb`, body);
      if (c.dryRun) {
        current = "";
        const at = args.includes("--") ? args.indexOf("--") : args.length;
        const r = await run(kubeconfig, [
          ...args.slice(0, at),
          "--dry-run=client",
          "-o",
          "json",
          ...args.slice(at),
        ]);
        if (r.code !== 0) throw new Error(`${c.label}: dry run failed: ${r.err}`);
        await Deno.writeTextFile(
          `${outDir}/${c.label}.json`,
          await denoFmtJson(r.out),
        );
      }
    }
  } finally {
    await proxy.shutdown();
    await cp.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await main(Deno.args[0] ?? new URL(".", import.meta.url).pathname);
}
