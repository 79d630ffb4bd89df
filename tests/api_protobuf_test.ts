/**
 * End to end: kubectl 1.32's typed clients create objects with Kubernetes protobuf bodies against
 * the real API server.
 */
import assert from "node:assert/strict";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { startControlPlane } from "../control/mod.ts";
import { kubectlPath, kubectlTest } from "./harness.ts";

async function kubectl(kubeconfig: string, dir: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(kubectlPath()!, {
    args: ["--kubeconfig", kubeconfig, "--cache-dir", `${dir}/kube-cache`, ...args],
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  if (out.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

/** The creates, as kubectl arguments; `@BINARY` is a file of bytes that are not UTF-8. */
const CREATES = [
  ["create", "namespace", "team-a"],
  ["create", "configmap", "cm1", "-n", "team-a", "--from-literal=a=b", "--from-file=bin=@BINARY"],
  [
    "create",
    "secret",
    "generic",
    "s1",
    "-n",
    "team-a",
    "--from-literal=user=admin",
    "--from-file=bin=@BINARY",
  ],
  ["create", "deployment", "web", "-n", "team-a", "--image=nginx:1.27", "--replicas=0", "--port=8080"],
  ["create", "service", "clusterip", "web", "-n", "team-a", "--tcp=80:8080", "--tcp=443:https"],
];

kubectlTest(
  "kubectl create namespace, configmap, secret, deployment and service work through protobuf",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "skiff-protobuf-" });
    const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0 });
    try {
      const kubeconfig = `${dir}/kubeconfig`;
      await writeKubeconfig(kubeconfig, cp.url);
      const run = (args: string[]) => kubectl(kubeconfig, dir, args);
      const get = async (...args: string[]) =>
        JSON.parse(await run(["get", ...args, "-n", "team-a", "-o", "json"]));
      await Deno.writeFile(`${dir}/binary`, new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a, 0xc3, 0x28]));

      for (const args of CREATES) await run(args.map((a) => a.replace("@BINARY", `${dir}/binary`)));

      assert.equal((await get("namespace", "team-a")).status.phase, "Active");
      const cm = await get("configmap", "cm1");
      assert.deepEqual(cm.data, { a: "b" });
      assert.deepEqual(cm.binaryData, { bin: "AP/+gH8Kwyg=" });
      const secret = await get("secret", "s1");
      assert.deepEqual(secret.data, { bin: "AP/+gH8Kwyg=", user: btoa("admin") });
      assert.equal(secret.type, "Opaque");
      const deploy = await get("deployment", "web");
      assert.equal(deploy.spec.replicas, 0);
      assert.equal(deploy.spec.strategy.type, "RollingUpdate", "defaults ran on the decoded object");
      assert.deepEqual(deploy.spec.template.spec.containers[0].ports, [{
        containerPort: 8080,
        protocol: "TCP",
      }]);
      const svc = await get("service", "web");
      assert.deepEqual(svc.spec.ports.map((p: { targetPort: unknown }) => p.targetPort), [8080, "https"]);
    } finally {
      await cp.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
