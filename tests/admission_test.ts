/**
 * The built-in admission steps against a real API server (and real kubectl): ResourceQuota,
 * LimitRanger, ServiceAccount and PodSecurity, with the quota and root-CA controllers running.
 */
import assert from "node:assert/strict";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { Client, R } from "../control/api/client.ts";
import { ApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import { builtinAdmission, type BuiltinAdmissionOptions } from "../control/apiserver/admission/builtin.ts";
import type { ControllerManagerOptions } from "../control/controllers/manager.ts";
import { startControlPlane } from "../control/mod.ts";
import { eventually, kubectlPath, kubectlTest, tempDir } from "./harness.ts";

interface SecureCluster extends AsyncDisposable {
  client: Client;
  kubectl(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

const CONTROLLERS = [
  "serviceaccount-controller",
  "resourcequota-controller",
  "root-ca-certificate-publisher-controller",
];

/** A control plane with the built-in admission steps and the controllers they rely on. */
async function startSecureCluster(
  opts: { admission?: BuiltinAdmissionOptions; rootCAPem?: string } = {},
): Promise<SecureCluster> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-admission-" });
  const controllers: ControllerManagerOptions & Record<string, unknown> = {
    controllers: CONTROLLERS,
    leaderElect: false,
    // No periodic resync: recalculations come from deletions only, so a test knows when they happen.
    resourceQuota: { resyncPeriodMs: 0 },
    rootCA: { rootCAPem: opts.rootCAPem },
  };
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0, components: { controllers } });
  cp.server.admission.push(...builtinAdmission(cp.server, opts.admission));
  const kubeconfig = `${dir}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const client = new Client({ server: cp.url });
  const kubectl = async (args: string[], stdin?: string) => {
    const child = new Deno.Command(kubectlPath()!, {
      args: ["--kubeconfig", kubeconfig, "--cache-dir", `${dir}/kube-cache`, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  return {
    client,
    kubectl,
    async [Symbol.asyncDispose]() {
      await cp.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function namespace(c: SecureCluster, name: string, labels: Record<string, string> = {}) {
  await c.client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
  await eventually(
    `the default ServiceAccount of ${name}`,
    () => c.client.tryGet(R.serviceaccounts, name, "default"),
  );
}

const pod = (
  name: string,
  ns: string,
  extra: Record<string, unknown> = {},
  container: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: "c", image: "busybox:1.36", ...container }], ...extra },
});

async function quotaReady(c: SecureCluster, ns: string, name: string) {
  return await eventually(`quota ${name} status`, async () => {
    const q = await c.client.get(R.resourcequotas, ns, name);
    return q.status?.hard && q.status?.used ? q : null;
  });
}

const QUOTA_YAML = `apiVersion: v1
kind: ResourceQuota
metadata: {name: small, namespace: team}
spec:
  hard: {pods: "2", requests.cpu: "1", limits.memory: 1Gi}
`;

const podYaml = (name: string, cpu = "300m") =>
  `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: team}
spec:
  containers:
  - name: c
    image: busybox:1.36
    resources:
      requests: {cpu: ${cpu}, memory: 64Mi}
      limits: {cpu: ${cpu}, memory: 128Mi}
`;

kubectlTest(
  "a ResourceQuota refuses a pod past its limit with upstream's message, and admits it once a pod is deleted",
  async () => {
    await using c = await startSecureCluster();
    await namespace(c, "team");
    assert.equal((await c.kubectl(["apply", "-f", "-"], QUOTA_YAML)).code, 0);
    await quotaReady(c, "team", "small");
    for (const name of ["a", "b"]) {
      const r = await c.kubectl(["apply", "-f", "-"], podYaml(name));
      assert.equal(r.code, 0, r.stderr);
    }
    const refused = await c.kubectl(["apply", "-f", "-"], podYaml("c"));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /pods "c" is forbidden: exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2/,
    );
    const q = await c.client.get(R.resourcequotas, "team", "small");
    assert.deepEqual(q.status.used, { pods: "2", "requests.cpu": "600m", "limits.memory": "256Mi" });

    // An unscheduled pod is deleted at once; the quota controller gives its usage back.
    assert.equal((await c.kubectl(["delete", "pod", "b", "-n", "team"])).code, 0);
    const freed = await eventually("the quota to be freed", async () => {
      const q = await c.client.get(R.resourcequotas, "team", "small");
      return q.status.used.pods === "1" ? q : null;
    });
    assert.equal(freed.status.used["requests.cpu"], "300m");
    // CPU is refused too, naming only the exceeded resource.
    const cpu = await c.kubectl(["apply", "-f", "-"], podYaml("big", "800m"));
    assert.match(
      cpu.stderr,
      /exceeded quota: small, requested: requests\.cpu=800m, used: requests\.cpu=300m, limited: requests\.cpu=1/,
    );
    const admitted = await c.kubectl(["apply", "-f", "-"], podYaml("c"));
    assert.equal(admitted.code, 0, admitted.stderr);
  },
);

Deno.test("a ResourceQuota keeps status.used exact under many parallel creates", async () => {
  await using c = await startSecureCluster({ admission: { disable: ["ServiceAccount"] } });
  await namespace(c, "burst");
  await c.client.create(R.resourcequotas, {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "count", namespace: "burst" },
    spec: { hard: { pods: "25", "count/configmaps": "1000" } },
  });
  await quotaReady(c, "burst", "count");
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, (_, i) => c.client.create(R.pods, pod(`p${i}`, "burst"))),
  );
  const ok = results.filter((r) => r.status === "fulfilled").length;
  const refused = results.filter((r) => r.status === "rejected").map((r) =>
    (r as PromiseRejectedResult).reason
  );
  assert.equal(ok, 25);
  assert.equal(refused.length, 15);
  for (const e of refused) {
    assert.ok(e instanceof ApiError && e.code === 403, String(e));
    assert.match(e.message, /exceeded quota: count, requested: pods=1, used: pods=25, limited: pods=25/);
  }
  assert.equal((await c.client.get(R.resourcequotas, "burst", "count")).status.used.pods, "25");
  // Object counts of any kind are charged exactly too.
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      c.client.create(R.configmaps, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `m${i}`, namespace: "burst" },
      })),
  );
  const q = await c.client.get(R.resourcequotas, "burst", "count");
  assert.equal(q.status.used["count/configmaps"], "30");
  // A create that fails after admission (the name is taken) leaves its charge until the
  // controller recalculates, here on the next deletion (or its periodic resync).
  await assert.rejects(
    c.client.create(R.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "m0", namespace: "burst" },
    }),
    /already exists/,
  );
  assert.equal(
    (await c.client.get(R.resourcequotas, "burst", "count")).status.used["count/configmaps"],
    "31",
  );
  await c.client.delete(R.configmaps, "burst", "m1");
  const released = await eventually("the leaked charge to be released", async () => {
    const q = await c.client.get(R.resourcequotas, "burst", "count");
    return q.status.used["count/configmaps"] === "29" ? q : null;
  });
  assert.deepEqual(released.status.used, { pods: "25", "count/configmaps": "29" });
});

Deno.test("a ResourceQuota stays exact when two API server replicas on one KV file admit pods at once", async () => {
  await using dir = await tempDir("skiff-replicas-");
  const kvPath = `${dir.path}/state.kv`;
  const a = await startControlPlane({ kvPath, port: 0 });
  const b = await startControlPlane({ kvPath, port: 0 });
  try {
    for (const cp of [a, b]) {
      cp.server.admission.push(...builtinAdmission(cp.server, { disable: ["ServiceAccount"] }));
    }
    const ca = new Client({ server: a.url });
    const cb = new Client({ server: b.url });
    await ca.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "shared" } });
    const q = await ca.create(R.resourcequotas, {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "pods", namespace: "shared" },
      spec: { hard: { pods: "15" } },
    });
    // Stands in for the quota controller's first sync.
    await ca.updateStatus(R.resourcequotas, { ...q, status: { hard: { pods: "15" }, used: { pods: "0" } } });
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? ca : cb).create(R.pods, pod(`p${i}`, "shared"))),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 15);
    assert.equal((await cb.get(R.resourcequotas, "shared", "pods")).status.used.pods, "15");
    assert.equal((await ca.list(R.pods, "shared")).items.length, 15);
  } finally {
    await b.close();
    await a.close();
  }
});

const LIMITS_YAML = `apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: team}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
    max: {cpu: "1"}
`;

kubectlTest(
  "LimitRange defaults are applied to a pod, and a container over the maximum is refused",
  async () => {
    await using c = await startSecureCluster();
    await namespace(c, "team");
    assert.equal((await c.kubectl(["apply", "-f", "-"], LIMITS_YAML)).code, 0);
    const run = await c.kubectl(["run", "web", "-n", "team", "--image=nginx:1.27"]);
    assert.equal(run.code, 0, run.stderr);
    const got = await c.client.get(R.pods, "team", "web");
    assert.deepEqual(got.spec.containers[0].resources, {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    });
    assert.equal(
      got.metadata.annotations?.["kubernetes.io/limit-ranger"],
      "LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web",
    );
    assert.equal(got.status.qosClass, "Burstable");
    const big = await c.kubectl([
      "run",
      "big",
      "-n",
      "team",
      "--image=nginx:1.27",
      "--overrides",
      JSON.stringify({
        spec: { containers: [{ name: "big", image: "nginx:1.27", resources: { limits: { cpu: "2" } } }] },
      }),
    ]);
    assert.notEqual(big.code, 0);
    assert.match(big.stderr, /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/);
  },
);

kubectlTest(
  "a pod gets the projected kube-api-access token volume, and one naming a missing ServiceAccount is refused",
  async () => {
    await using c = await startSecureCluster({
      rootCAPem: "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n",
    });
    await namespace(c, "apps");
    const created = await c.client.create(
      R.pods,
      pod("web", "apps", { initContainers: [{ name: "init", image: "busybox:1.36" }] }),
    );
    assert.equal(created.spec.serviceAccountName, "default");
    const volume = created.spec.volumes.find((v: { name: string }) => v.name.startsWith("kube-api-access-"));
    assert.match(volume.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(volume.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    });
    for (const ctr of [...created.spec.containers, ...created.spec.initContainers]) {
      assert.deepEqual(ctr.volumeMounts, [{
        name: volume.name,
        readOnly: true,
        mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      }]);
    }
    const optOut = await c.client.create(
      R.pods,
      pod("quiet", "apps", { automountServiceAccountToken: false }),
    );
    assert.equal(optOut.spec.volumes, undefined);
    const missing = await c.kubectl([
      "run",
      "ghost",
      "-n",
      "apps",
      "--image=nginx:1.27",
      "--overrides",
      JSON.stringify({ spec: { serviceAccountName: "robot" } }),
    ]);
    assert.match(
      missing.stderr,
      /pods "ghost" is forbidden: error looking up service account apps\/robot: serviceaccount "robot" not found/,
    );
    // The root CA publisher put the CA the volume projects into the namespace.
    const cm = await eventually(
      "kube-root-ca.crt",
      () => c.client.tryGet(R.configmaps, "apps", "kube-root-ca.crt"),
    );
    assert.equal(cm.data["ca.crt"], "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n");
  },
);

const PRIVILEGED_YAML = `apiVersion: v1
kind: Pod
metadata: {name: root, namespace: locked}
spec:
  containers:
  - name: c
    image: busybox:1.36
    securityContext: {privileged: true}
`;

const COMPLIANT_YAML = `apiVersion: v1
kind: Pod
metadata: {name: good, namespace: locked}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox:1.36
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`;

kubectlTest(
  "restricted Pod Security refuses a privileged pod with upstream's message and admits a compliant one",
  async () => {
    await using c = await startSecureCluster();
    await namespace(c, "locked", { "pod-security.kubernetes.io/enforce": "restricted" });
    const refused = await c.kubectl(["apply", "-f", "-"], PRIVILEGED_YAML);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      new RegExp(
        'pods "root" is forbidden: violates PodSecurity "restricted:latest": privileged \\(container "c" must not set securityContext\\.privileged=true\\), ' +
          'allowPrivilegeEscalation != false \\(container "c" must set securityContext\\.allowPrivilegeEscalation=false\\), ' +
          'unrestricted capabilities \\(container "c" must set securityContext\\.capabilities\\.drop=\\["ALL"\\]\\), ' +
          'runAsNonRoot != true \\(pod or container "c" must set securityContext\\.runAsNonRoot=true\\), ' +
          'seccompProfile \\(pod or container "c" must set securityContext\\.seccompProfile\\.type to "RuntimeDefault" or "Localhost"\\)',
      ),
    );
    const ok = await c.kubectl(["apply", "-f", "-"], COMPLIANT_YAML);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, "");
    // A bad level label is refused as upstream does.
    const bad = await c.kubectl([
      "label",
      "ns",
      "locked",
      "--overwrite",
      "pod-security.kubernetes.io/enforce=strict",
    ]);
    assert.match(
      bad.stderr,
      /metadata\.labels\[pod-security\.kubernetes\.io\/enforce\]: Invalid value: "strict": must be one of privileged, baseline, restricted/,
    );
  },
);

kubectlTest(
  "Pod Security warn mode returns a Warning header that kubectl prints, and workloads are only warned",
  async () => {
    await using c = await startSecureCluster();
    await namespace(c, "soft", { "pod-security.kubernetes.io/warn": "baseline" });
    const warned = await c.kubectl([
      "run",
      "net",
      "-n",
      "soft",
      "--image=nginx:1.27",
      "--overrides",
      JSON.stringify({ spec: { hostNetwork: true } }),
    ]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /Warning: would violate PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/,
    );
    await namespace(c, "strict", {
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
    });
    const deploy = await c.kubectl(["create", "deployment", "web", "-n", "strict", "--image=nginx:1.27"]);
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.match(
      deploy.stderr,
      /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
    // Tightening a namespace warns about the pods already in it.
    const tighten = await c.kubectl(["label", "ns", "soft", "pod-security.kubernetes.io/enforce=baseline"]);
    assert.equal(tighten.code, 0, tighten.stderr);
    assert.match(
      tighten.stderr,
      /Warning: existing pods in namespace "soft" violate the new PodSecurity enforce level "baseline:latest"/,
    );
    assert.match(tighten.stderr, /Warning: net: host namespaces/);
  },
);

Deno.test("Pod Security audit mode records the violations as audit annotations without refusing", async () => {
  const annotations: Record<string, string>[] = [];
  await using c = await startSecureCluster({
    admission: {
      podSecurity: {
        onAuditAnnotation(a, key, value) {
          if (a.def.plural === "pods") annotations.push({ [key]: value });
        },
      },
    },
  });
  await namespace(c, "watched", { "pod-security.kubernetes.io/audit": "baseline" });
  await c.client.create(R.pods, pod("root", "watched", {}, { securityContext: { privileged: true } }));
  assert.deepEqual(annotations, [{ "pod-security.kubernetes.io/enforce-policy": "privileged:latest" }, {
    "pod-security.kubernetes.io/audit-violations":
      'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
  }]);
});

Deno.test("Pod Security evaluates a WebAssembly pod only on the fields that apply to it", async () => {
  await using c = await startSecureCluster();
  await c.client.create(R.runtimeclasses, {
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: { name: "wasm" },
    handler: "wasm",
  });
  await namespace(c, "wasm", { "pod-security.kubernetes.io/enforce": "restricted" });
  const plain = await c.client.create(
    R.pods,
    pod("hello", "wasm", { runtimeClassName: "wasm" }, { image: "ghcr.io/skiff/hello:1" }),
  );
  assert.equal(plain.metadata.name, "hello");
  await assert.rejects(
    c.client.create(
      R.pods,
      pod("host", "wasm", {
        runtimeClassName: "wasm",
        volumes: [{ name: "etc", hostPath: { path: "/etc" } }],
      }),
    ),
    (e: ApiError) => {
      assert.equal(e.code, 403);
      assert.match(
        e.message,
        /violates PodSecurity "restricted:latest": restricted volume types \(volume "etc" uses restricted volume type "hostPath"\)$/,
      );
      return true;
    },
  );
  // The same pod as a container is refused on every restricted field.
  await assert.rejects(c.client.create(R.pods, pod("oci", "wasm")), /runAsNonRoot != true/);
});
