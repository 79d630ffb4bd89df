import assert from "node:assert/strict";
import type { ContainerConfig, LinuxContainerConfig } from "./container_config.ts";
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  effectiveCapabilities,
  MASKED_PATHS,
  ociSpec,
  SpecError,
  type SpecInputs,
} from "./spec.ts";

function inputs(
  c: Partial<ContainerConfig> = {},
  linux: Partial<LinuxContainerConfig> = {},
  extra: Partial<SpecInputs> = {},
): SpecInputs {
  return {
    config: {
      metadata: { name: "c", attempt: 0 },
      image: { image: "img" },
      command: [],
      args: [],
      workingDir: "",
      envs: [],
      mounts: [],
      labels: {},
      annotations: {},
      logPath: "c/0.log",
      ports: [],
      resources: {},
      stdin: false,
      tty: false,
      linux: { resources: linux.resources ?? {}, securityContext: linux.securityContext ?? {} },
      ...c,
    },
    sandbox: {
      netnsPath: "/run/netns/pod",
      ipcPath: "/sb/ipc",
      utsPath: "/sb/uts",
      hostname: "web-0",
      etcHosts: "/sb/hosts",
      etcHostname: "/sb/hostname",
      resolvConf: "/sb/resolv.conf",
      sysctls: {},
    },
    image: { Cmd: ["/bin/httpd", "-f"], Env: ["PATH=/bin", "FROM=image"], WorkingDir: "/www" },
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 2000] },
    rootfs: "/b/rootfs",
    cgroupsPath: "/skiff/n/podu/c1",
    pidsLimit: 4096,
    ...extra,
  };
}

Deno.test("ociSpec() maps the process: argv, env, cwd, user and terminal", () => {
  const s = ociSpec(inputs({ args: ["-p", "80"], envs: [{ key: "FROM", value: "pod" }], tty: true }));
  assert.deepEqual(s.process.args, ["-p", "80"], "args without command replace Cmd (no Entrypoint)");
  assert.deepEqual(s.process.env, ["PATH=/bin", "FROM=pod", "HOSTNAME=web-0", "TERM=xterm"]);
  assert.equal(s.process.cwd, "/www", "the image's WorkingDir");
  assert.equal(s.process.terminal, true);
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 2000] });

  const plain = ociSpec(inputs({ workingDir: "/tmp" }, {}, { image: { Cmd: ["sh"] } }));
  assert.equal(plain.process.cwd, "/tmp", "the container's workingDir wins");
  assert.equal(
    plain.process.env[0],
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "a default PATH",
  );
  assert.ok(!plain.process.env.some((e: string) => e.startsWith("TERM=")), "TERM only with a terminal");

  assert.throws(() => ociSpec(inputs({}, {}, { image: {} })), SpecError, "no Entrypoint, Cmd or command");
  assert.throws(() => ociSpec(inputs({ workingDir: "rel" })), /not absolute/);
});

Deno.test("ociSpec() applies secure defaults: default capabilities, no_new_privs, seccomp, masked /proc", () => {
  const s = ociSpec(inputs());
  assert.deepEqual(
    s.process.capabilities.bounding,
    ALL_CAPABILITIES.filter((c) => DEFAULT_CAPABILITIES.includes(c)),
  );
  assert.deepEqual(s.process.capabilities.effective, s.process.capabilities.bounding);
  assert.deepEqual(s.process.capabilities.ambient, []);
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(s.linux.seccomp.defaultAction, "SCMP_ACT_ERRNO");
  assert.ok(s.linux.seccomp.syscalls[0].names.includes("read"));
  assert.ok(!s.linux.seccomp.syscalls[0].names.includes("kexec_load"), "kexec is not allowed");
  assert.deepEqual(s.linux.maskedPaths, MASKED_PATHS);
  assert.ok(s.linux.readonlyPaths.includes("/proc/sys"));
  assert.equal(s.root.readonly, false);
  assert.equal(s.linux.devices, undefined);
  assert.deepEqual(
    s.linux.resources.devices[0],
    { allow: false, access: "rwm" },
    "devices denied but the standard ones",
  );
  assert.equal(s.mounts.find((m: { destination: string }) => m.destination === "/sys").options.at(-1), "ro");
  assert.deepEqual(
    s.linux.namespaces,
    [
      { type: "pid" },
      { type: "mount" },
      { type: "network", path: "/run/netns/pod" },
      { type: "ipc", path: "/sb/ipc" },
      { type: "uts", path: "/sb/uts" },
    ],
    "the pod's network, IPC and UTS namespaces are joined",
  );
  assert.equal(s.hostname, undefined, "the pod's UTS namespace carries the hostname");
  assert.equal(s.linux.rootfsPropagation, "rprivate");
});

Deno.test("ociSpec() maps the securityContext: capabilities, read-only root, privileged, seccomp, procMount", () => {
  const narrow = ociSpec(inputs({}, {
    securityContext: {
      capabilities: { addCapabilities: ["NET_ADMIN"], dropCapabilities: ["ALL"] },
      readonlyRootfs: true,
      noNewPrivs: false,
      seccomp: { profileType: "Unconfined" },
      unmaskedProc: true,
    },
  }));
  assert.deepEqual(narrow.process.capabilities.bounding, ["CAP_NET_ADMIN"]);
  assert.equal(narrow.root.readonly, true);
  assert.equal(narrow.process.noNewPrivileges, false);
  assert.equal(narrow.linux.seccomp, undefined, "Unconfined: no filter");
  assert.equal(narrow.linux.maskedPaths, undefined, "procMount: Unmasked");

  const priv = ociSpec(inputs({}, { securityContext: { privileged: true } }));
  assert.deepEqual(priv.process.capabilities.bounding, ALL_CAPABILITIES);
  assert.equal(priv.process.noNewPrivileges, false);
  assert.equal(priv.linux.seccomp, undefined);
  assert.equal(priv.linux.maskedPaths, undefined);
  assert.deepEqual(priv.linux.resources.devices, [{ allow: true, access: "rwm" }]);
  assert.equal(priv.mounts.find((m: { destination: string }) => m.destination === "/dev").type, "bind");

  assert.throws(
    () =>
      ociSpec(
        inputs({}, { securityContext: { seccomp: { profileType: "Localhost", localhostRef: "p.json" } } }),
      ),
    /seccomp profile "p.json" is not loaded/,
  );
});

Deno.test("effectiveCapabilities() drops and adds on the default set, with ALL on either side", () => {
  assert.deepEqual(
    effectiveCapabilities({
      capabilities: { addCapabilities: [], dropCapabilities: ["NET_RAW", "CAP_MKNOD"] },
    }).length,
    12,
  );
  assert.ok(
    effectiveCapabilities({ capabilities: { addCapabilities: ["sys_time"], dropCapabilities: [] } }).includes(
      "CAP_SYS_TIME",
    ),
  );
  assert.deepEqual(
    effectiveCapabilities({ capabilities: { addCapabilities: [], dropCapabilities: ["ALL"] } }),
    [],
  );
  assert.deepEqual(
    effectiveCapabilities({ capabilities: { addCapabilities: ["ALL"], dropCapabilities: [] } }),
    ALL_CAPABILITIES,
  );
});

Deno.test("ociSpec() maps limits to cgroup v1 resources and volumes to ordered bind mounts", () => {
  const s = ociSpec(
    inputs(
      {
        mounts: [
          { containerPath: "/data/cache", hostPath: "/v/cache", readonly: false },
          { containerPath: "/data", hostPath: "/v/data", readonly: true },
          { containerPath: "/etc/hosts", hostPath: "/v/myhosts", readonly: true },
        ],
        annotations: { "io.kubernetes.container.terminationMessagePath": "/dev/termination-log" },
      },
      { resources: { memoryLimitInBytes: 64 << 20, cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512 } },
      {
        swapAccounting: true,
        terminationMessageFile: "/b/termination-log",
        sandbox: { ...inputs().sandbox, sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" } },
      },
    ),
  );
  assert.deepEqual(s.linux.resources.memory, { limit: 64 << 20, swap: 64 << 20 }, "no swap beyond the limit");
  assert.deepEqual(s.linux.resources.cpu, { shares: 512, quota: 50_000, period: 100_000 });
  assert.deepEqual(s.linux.resources.pids, { limit: 4096 });
  assert.equal(s.linux.cgroupsPath, "/skiff/n/podu/c1");
  assert.deepEqual(s.linux.sysctl, { "net.ipv4.ip_unprivileged_port_start": "0" });
  const dests = s.mounts.map((m: { destination: string }) => m.destination);
  assert.ok(dests.indexOf("/data") < dests.indexOf("/data/cache"), "a parent volume before a child one");
  assert.equal(
    dests.filter((d: string) => d === "/etc/hosts").length,
    1,
    "a volume replaces the managed /etc/hosts",
  );
  assert.deepEqual(s.mounts.find((m: { destination: string }) => m.destination === "/data").options, [
    "rbind",
    "rprivate",
    "ro",
  ]);
  assert.equal(
    s.mounts.find((m: { destination: string }) => m.destination === "/dev/termination-log").source,
    "/b/termination-log",
  );
  assert.ok(dests.includes("/etc/resolv.conf") && dests.includes("/etc/hostname"));

  const none = ociSpec(inputs({}, {}, { pidsLimit: 0 }));
  assert.equal(none.linux.resources.memory, undefined);
  assert.equal(none.linux.resources.cpu, undefined);
  assert.equal(none.linux.resources.pids, undefined);
  assert.throws(
    () => ociSpec(inputs({ mounts: [{ containerPath: "rel", hostPath: "/v", readonly: false }] })),
    /not absolute/,
  );
});

Deno.test("ociSpec() leaves out the namespaces a pod shares with the node, and refuses their sysctls", () => {
  const host = { ...inputs().sandbox, host: { network: true, pid: true, ipc: true }, utsPath: undefined };
  const s = ociSpec(inputs({}, {}, { sandbox: host }));
  assert.deepEqual(
    s.linux.namespaces,
    [{ type: "mount" }],
    "hostNetwork (with the node's UTS), hostPID, hostIPC",
  );
  assert.equal(s.hostname, undefined, "the node's hostname");
  const netOnly = ociSpec(inputs({}, {}, { sandbox: { ...host, host: { network: true } } }));
  assert.deepEqual(netOnly.linux.namespaces.map((n: { type: string }) => n.type), ["pid", "mount", "ipc"]);
  assert.throws(
    () => ociSpec(inputs({}, {}, { sandbox: { ...host, sysctls: { "net.core.somaxconn": "1024" } } })),
    /net.core.somaxconn" is not allowed with the node's network namespace/,
  );
  assert.throws(
    () =>
      ociSpec(
        inputs({}, {}, { sandbox: { ...host, host: { ipc: true }, sysctls: { "kernel.shmmax": "1" } } }),
      ),
    /kernel.shmmax" is not allowed with the node's ipc namespace/,
  );
  assert.ok(
    ociSpec(
      inputs({}, {}, { sandbox: { ...host, host: { ipc: true }, sysctls: { "net.core.somaxconn": "1" } } }),
    ),
  );
});

Deno.test("ociSpec() passes the config's annotations but none crun acts on (run.oci.*)", () => {
  const s = ociSpec(inputs({
    annotations: {
      "io.kubernetes.container.hash": "abc",
      "run.oci.seccomp_bpf_data": "AAAAAAAAAAA=",
      "run.oci.keep_original_groups": "1",
    },
  }));
  assert.deepEqual(s.annotations, { "io.kubernetes.container.hash": "abc" });
  assert.ok(s.linux.seccomp, "the default profile stays");
});
