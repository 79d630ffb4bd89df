/**
 * The Pod Security Standards' baseline checks (upstream
 * `staging/src/k8s.io/pod-security-admission/policy/check_*.go`), with upstream's reasons and
 * details: host namespaces, privileged, non-default capabilities, hostPath volumes, hostPorts,
 * AppArmor, SELinux, /proc mount, seccomp, sysctls and Windows hostProcess. Each check is a pure
 * function of the pod's metadata and spec returning a violation or null.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
type Obj = Record<string, any>;

/** A failed check: upstream `CheckResult` with `Allowed: false`. */
export interface Violation {
  reason: string;
  detail: string;
}

/** A check of one version of the policy. */
export type CheckFn = (metadata: Obj, spec: Obj) => Violation | null;

/** Upstream `visitContainers`: init containers, containers, then ephemeral containers. */
export function containersOf(spec: Obj): Obj[] {
  const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((c) => c && typeof c === "object") : []);
  return [...list(spec?.initContainers), ...list(spec?.containers), ...list(spec?.ephemeralContainers)];
}

/** Upstream `joinQuote`: `"a", "b"`. */
export function joinQuote(items: Iterable<string>): string {
  const list = [...items];
  return list.length ? `"${list.join('", "')}"` : "";
}

export function pluralize(singular: string, plural: string, n: number): string {
  return n === 1 ? singular : plural;
}

/** `container "a"` / `containers "a", "b"`. */
export function containersPhrase(names: string[]): string {
  return `${pluralize("container", "containers", names.length)} ${joinQuote(names)}`;
}

const sortedSet = (s: Set<string>) => [...s].sort();
const sc = (c: Obj): Obj => c.securityContext ?? {};
const podSc = (spec: Obj): Obj => spec?.securityContext ?? {};
/** Go's `%q` for the strings seen here. */
const quote = (s: unknown) => JSON.stringify(String(s));

export const hostNamespaces: CheckFn = (_m, spec) => {
  const host: string[] = [];
  if (spec?.hostNetwork === true) host.push("hostNetwork=true");
  if (spec?.hostPID === true) host.push("hostPID=true");
  if (spec?.hostIPC === true) host.push("hostIPC=true");
  return host.length ? { reason: "host namespaces", detail: host.join(", ") } : null;
};

export const privileged: CheckFn = (_m, spec) => {
  const bad = containersOf(spec).filter((c) => sc(c).privileged === true).map((c) => String(c.name));
  return bad.length
    ? {
      reason: "privileged",
      detail: `${containersPhrase(bad)} must not set securityContext.privileged=true`,
    }
    : null;
};

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

export const capabilitiesBaseline: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const caps = new Set<string>();
  for (const c of containersOf(spec)) {
    const added: unknown[] = sc(c).capabilities?.add ?? [];
    const extra = added.map(String).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (!extra.length) continue;
    bad.push(String(c.name));
    extra.forEach((cap) => caps.add(cap));
  }
  return bad.length
    ? {
      reason: "non-default capabilities",
      detail: `${containersPhrase(bad)} must not include ${
        joinQuote(sortedSet(caps))
      } in securityContext.capabilities.add`,
    }
    : null;
};

export const hostPathVolumes: CheckFn = (_m, spec) => {
  const bad = (spec?.volumes ?? []).filter((v: Obj) => v?.hostPath).map((v: Obj) => String(v.name));
  return bad.length
    ? {
      reason: "hostPath volumes",
      detail: `${pluralize("volume", "volumes", bad.length)} ${joinQuote(bad)}`,
    }
    : null;
};

export const hostPorts: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const ports = new Set<string>();
  for (const c of containersOf(spec)) {
    const used = (c.ports ?? []).filter((p: Obj) => p?.hostPort).map((p: Obj) => String(p.hostPort));
    if (!used.length) continue;
    bad.push(String(c.name));
    used.forEach((p: string) => ports.add(p));
  }
  if (!bad.length) return null;
  return {
    reason: "hostPort",
    detail: `${containersPhrase(bad)} ${pluralize("uses", "use", bad.length)} ${
      pluralize("hostPort", "hostPorts", ports.size)
    } ${sortedSet(ports).join(", ")}`,
  };
};

const APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/";
const apparmorTypeAllowed = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
const apparmorAnnotationAllowed = (v: string) => !v || v === "runtime/default" || v.startsWith("localhost/");

export const appArmorProfile: CheckFn = (metadata, spec) => {
  const setters: string[] = [];
  const values = new Set<string>();
  const podProfile = podSc(spec).appArmorProfile;
  if (podProfile && !apparmorTypeAllowed(podProfile.type)) {
    setters.push("pod");
    values.add(String(podProfile.type));
  }
  const bad: string[] = [];
  for (const c of containersOf(spec)) {
    const p = sc(c).appArmorProfile;
    if (p && !apparmorTypeAllowed(p.type)) {
      bad.push(String(c.name));
      values.add(String(p.type));
    }
  }
  if (bad.length) setters.push(containersPhrase(bad));
  const annotations = Object.entries((metadata?.annotations ?? {}) as Record<string, string>)
    .filter(([k, v]) => k.startsWith(APPARMOR_PREFIX) && !apparmorAnnotationAllowed(String(v)))
    .map(([k, v]) => `${k}=${quote(v)}`)
    .sort();
  const list = [...sortedSet(values), ...annotations];
  if (annotations.length) setters.push(pluralize("annotation", "annotations", annotations.length));
  if (!setters.length) return null;
  return {
    reason: pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", list.length),
    detail: `${setters.join(" and ")} must not set AppArmor profile type to ${joinQuote(list)}`,
  };
};

const SELINUX_TYPES_1_0 = ["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31 = [...SELINUX_TYPES_1_0, "container_engine_t"];

function seLinuxOptions(allowed: string[]): CheckFn {
  return (_m, spec) => {
    const setters: string[] = [];
    const types = new Set<string>();
    let user = false;
    let role = false;
    const valid = (o: Obj) => {
      let ok = true;
      const t = String(o.type ?? "");
      if (!allowed.includes(t)) {
        ok = false;
        types.add(t);
      }
      if (o.user) {
        ok = false;
        user = true;
      }
      if (o.role) {
        ok = false;
        role = true;
      }
      return ok;
    };
    const podOpts = podSc(spec).seLinuxOptions;
    if (podOpts && !valid(podOpts)) setters.push("pod");
    const bad = containersOf(spec).filter((c) => sc(c).seLinuxOptions && !valid(sc(c).seLinuxOptions)).map((
      c,
    ) => String(c.name));
    if (bad.length) setters.push(containersPhrase(bad));
    if (!setters.length) return null;
    const data: string[] = [];
    if (types.size) data.push(`${pluralize("type", "types", types.size)} ${joinQuote(sortedSet(types))}`);
    if (user) data.push("user may not be set");
    if (role) data.push("role may not be set");
    return {
      reason: "seLinuxOptions",
      detail: `${setters.join(" and ")} set forbidden securityContext.seLinuxOptions: ${data.join("; ")}`,
    };
  };
}
export const seLinuxOptions_1_0 = seLinuxOptions(SELINUX_TYPES_1_0);
export const seLinuxOptions_1_31 = seLinuxOptions(SELINUX_TYPES_1_31);

export const procMount: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const values = new Set<string>();
  for (const c of containersOf(spec)) {
    const pm = sc(c).procMount;
    if (pm === undefined || pm === null || pm === "Default") continue;
    bad.push(String(c.name));
    values.add(String(pm));
  }
  return bad.length
    ? {
      reason: "procMount",
      detail: `${containersPhrase(bad)} must not set securityContext.procMount to ${
        joinQuote(sortedSet(values))
      }`,
    }
    : null;
};

const SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/";
export const seccompTypeAllowed = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
const seccompAnnotationAllowed = (v: string) =>
  v === "runtime/default" || v === "docker/default" || v.startsWith("localhost/");

/** Before v1.19 the seccomp profile was set by annotations. */
export const seccompBaseline_1_0: CheckFn = (metadata, spec) => {
  const annotations: Record<string, string> = metadata?.annotations ?? {};
  const bad = new Set<string>();
  const v = annotations[SECCOMP_POD_ANNOTATION];
  if (v !== undefined && !seccompAnnotationAllowed(v)) bad.add(`${SECCOMP_POD_ANNOTATION}=${quote(v)}`);
  for (const c of containersOf(spec)) {
    const key = `${SECCOMP_CONTAINER_PREFIX}${c.name}`;
    const cv = annotations[key];
    if (cv !== undefined && !seccompAnnotationAllowed(cv)) bad.add(`${key}=${quote(cv)}`);
  }
  return bad.size
    ? {
      reason: "seccompProfile",
      detail: `forbidden ${pluralize("annotation", "annotations", bad.size)} ${sortedSet(bad).join(", ")}`,
    }
    : null;
};

export const seccompBaseline_1_19: CheckFn = (_m, spec) => {
  const setters: string[] = [];
  const values = new Set<string>();
  const podProfile = podSc(spec).seccompProfile;
  if (podProfile && !seccompTypeAllowed(podProfile.type)) {
    setters.push("pod");
    values.add(String(podProfile.type));
  }
  const bad: string[] = [];
  for (const c of containersOf(spec)) {
    const p = sc(c).seccompProfile;
    if (p && !seccompTypeAllowed(p.type)) {
      bad.push(String(c.name));
      values.add(String(p.type));
    }
  }
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length
    ? {
      reason: "seccompProfile",
      detail: `${setters.join(" and ")} must not set securityContext.seccompProfile.type to ${
        joinQuote(sortedSet(values))
      }`,
    }
    : null;
};

const SYSCTLS_1_0 = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, "net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27,
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

function sysctls(allowed: string[]): CheckFn {
  return (_m, spec) => {
    const bad = (podSc(spec).sysctls ?? []).map((s: Obj) => String(s?.name)).filter((n: string) =>
      !allowed.includes(n)
    );
    return bad.length ? { reason: "forbidden sysctls", detail: bad.join(", ") } : null;
  };
}
export const sysctls_1_0 = sysctls(SYSCTLS_1_0);
export const sysctls_1_27 = sysctls(SYSCTLS_1_27);
export const sysctls_1_29 = sysctls(SYSCTLS_1_29);
export const sysctls_1_32 = sysctls(SYSCTLS_1_32);

export const windowsHostProcess: CheckFn = (_m, spec) => {
  const setters: string[] = [];
  if (podSc(spec).windowsOptions?.hostProcess === true) setters.push("pod");
  const bad = containersOf(spec).filter((c) => sc(c).windowsOptions?.hostProcess === true).map((c) =>
    String(c.name)
  );
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length
    ? {
      reason: "hostProcess",
      detail: `${setters.join(" and ")} must not set securityContext.windowsOptions.hostProcess=true`,
    }
    : null;
};
