/**
 * The `RuntimeDefault` seccomp profile: an allow-list (everything else fails with EPERM) of the
 * system calls ordinary programs make, with the privileged ones allowed only when the container
 * holds the capability that governs them, as container runtimes' default profiles are built
 * (x86-64 and its 32-bit ABIs). Namespace creation through `clone` needs `CAP_SYS_ADMIN`;
 * `clone3` answers ENOSYS without it so libcs fall back to `clone`, where the flags are checked.
 * Pure.
 * @module
 */

/** System calls every container may make. */
const ALLOWED: readonly string[] = [
  // files and directories
  "access", "faccessat", "faccessat2", "open", "openat", "openat2", "creat", "close", "close_range",
  "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
  "lseek", "_llseek", "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat",
  "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "truncate", "truncate64", "ftruncate", "ftruncate64",
  "fallocate", "fadvise64", "fadvise64_64", "readahead", "fsync", "fdatasync", "sync", "syncfs",
  "sync_file_range", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
  "unlink", "unlinkat", "symlink", "symlinkat", "readlink", "readlinkat", "chmod", "fchmod", "fchmodat",
  "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask", "chdir", "fchdir",
  "getcwd", "getdents", "getdents64", "mknod", "mknodat", "utime", "utimes", "utimensat",
  "utimensat_time64", "futimesat", "copy_file_range", "sendfile", "sendfile64", "splice", "tee", "vmsplice",
  "flock", "fcntl", "fcntl64", "dup", "dup2", "dup3", "pipe", "pipe2", "ioctl", "memfd_create",
  "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr",
  "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "name_to_handle_at",
  "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
  // memory
  "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2",
  "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier", "pkey_alloc", "pkey_free",
  "pkey_mprotect", "memfd_secret", "process_mrelease",
  // processes, threads and signals
  "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid", "kill", "tkill",
  "tgkill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
  "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack",
  "sigprocmask", "sigreturn", "signalfd", "signalfd4", "pause", "pidfd_open", "pidfd_send_signal",
  "getpid", "getppid", "gettid", "getpgid", "getpgrp", "getsid", "setsid", "setpgid", "getuid", "getuid32",
  "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "getresuid", "getresuid32",
  "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid", "setuid32", "setgid", "setgid32",
  "setreuid", "setreuid32", "setregid", "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32",
  "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32", "capget", "capset",
  "prctl", "arch_prctl", "modify_ldt", "set_thread_area", "get_thread_area", "set_tid_address",
  "set_robust_list", "get_robust_list", "futex", "futex_time64", "futex_waitv", "rseq", "restart_syscall",
  "seccomp", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "getpriority", "setpriority",
  "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
  "sched_getscheduler", "sched_setscheduler", "sched_getattr", "sched_setattr", "sched_get_priority_max",
  "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64", "ioprio_get",
  "ioprio_set", "getcpu", "uname", "sysinfo", "times", "landlock_create_ruleset", "landlock_add_rule",
  "landlock_restrict_self",
  // time
  "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
  "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "alarm", "getitimer", "setitimer",
  "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
  "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
  "timerfd_settime64",
  // polling and events
  "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64", "epoll_create",
  "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "epoll_pwait",
  "epoll_pwait2", "eventfd", "eventfd2", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
  "io_pgetevents", "io_pgetevents_time64",
  // sockets (socket() itself is below: AF_VSOCK is refused)
  "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
  "getsockopt", "setsockopt", "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg",
  "recvmmsg", "recvmmsg_time64", "shutdown", "socketcall",
  // System V and POSIX IPC (the pod's own IPC namespace)
  "ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semctl", "semtimedop",
  "semtimedop_time64", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
  "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
  "getrandom", "adjtimex", "clock_adjtime", "clock_adjtime64",
];

/** System calls allowed only with a capability. */
const BY_CAPABILITY: Record<string, readonly string[]> = {
  CAP_SYS_ADMIN: [
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
    "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
    "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
  ],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_CHROOT: ["chroot"],
  CAP_SYS_MODULE: ["delete_module", "init_module", "finit_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_PTRACE: ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_TIME: ["settimeofday", "stime", "clock_settime", "clock_settime64"],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
  CAP_SYS_NICE: ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
  CAP_SYSLOG: ["syslog"],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
  CAP_DAC_READ_SEARCH: ["open_by_handle_at"],
};

/** `clone` flags that create namespaces (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET). */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
const AF_VSOCK = 40;
const EPERM = 1;
const ENOSYS = 38;

export interface SeccompRule {
  names: string[];
  action: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface SeccompProfile {
  defaultAction: "SCMP_ACT_ERRNO" | "SCMP_ACT_ALLOW";
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: SeccompRule[];
}

/** Profiles already built, by the capabilities that change them (a few per node). */
const built = new Map<string, SeccompProfile>();
const MAX_BUILT = 64;

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * The default profile for a container holding `capabilities` (`CAP_*` names). The profile is
 * built once per set of capabilities that matter to it and shared (frozen): building it (a sort
 * of some 360 names) is the largest part of making a `config.json` in the runtime Plugin's
 * interpreter.
 */
export function defaultSeccompProfile(capabilities: readonly string[]): SeccompProfile {
  const key = capabilities.filter((c) => c in BY_CAPABILITY).sort().join(",");
  let profile = built.get(key);
  if (!profile) {
    profile = deepFreeze(buildProfile(capabilities));
    if (built.size >= MAX_BUILT) built.delete(built.keys().next().value!);
    built.set(key, profile);
  }
  return profile;
}

function buildProfile(capabilities: readonly string[]): SeccompProfile {
  const caps = new Set(capabilities);
  const allowed = new Set(ALLOWED);
  // ptrace and cross-process memory access are harmless on kernels ≥ 4.8 (seccomp checked after ptrace).
  for (const n of ["ptrace", "process_vm_readv", "process_vm_writev"]) allowed.add(n);
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) {
    if (caps.has(cap)) for (const n of names) allowed.add(n);
  }
  const rules: SeccompRule[] = [{ names: [...allowed].sort(), action: "SCMP_ACT_ALLOW" }];
  rules.push({
    names: ["socket"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: AF_VSOCK, op: "SCMP_CMP_NE" }],
  });
  for (const persona of [0, 8, 0x20000, 0x20008, 0xffffffff]) {
    rules.push({ names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: persona, op: "SCMP_CMP_EQ" }] });
  }
  if (!caps.has("CAP_SYS_ADMIN")) {
    rules.push({
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    rules.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: rules,
  };
}
