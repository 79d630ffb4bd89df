/**
 * The command lines of a crun + conmon runtime plugin (the built-in `crun`, and the scaffold of
 * `./skiff plugin new runtime`): crun's verbs and conmon's argv, for one state layout under the
 * node's runtime `root`. The layout is a contract with the node's half (node/cri/plugin/
 * runtime_host.ts waits for `<bundle>/pid` and watches `<root>/exits`). Pure (bundled into the
 * component; the host runs the argv through `skiff:host/host-process`, inside the node agent's
 * mount namespace).
 * @module
 */

/** Where the plugin keeps things, all under `root` (the node's `<data-dir>/oci`). */
export interface Layout {
  crun: string;
  conmon: string;
  /** crun's state directory (`--root`). */
  crunRoot: string;
  /** conmon writes `<exits>/<id>` with the exit code. */
  exits: string;
  /** Bundles: `<containers>/<id>`. */
  containers: string;
}

/** The layout under `root`. */
export function layout(root: string, crun = "/usr/bin/crun", conmon = "/usr/bin/conmon"): Layout {
  const r = root.replace(/\/+$/, "");
  return { crun, conmon, crunRoot: `${r}/crun`, exits: `${r}/exits`, containers: `${r}/containers` };
}

/** One container's files inside its bundle. */
export function bundlePaths(l: Layout, id: string) {
  const bundle = `${l.containers}/${id}`;
  return {
    bundle,
    rootfs: `${bundle}/rootfs`,
    persist: `${bundle}/persist`,
    pidFile: `${bundle}/pid`,
    conmonPidFile: `${bundle}/conmon.pid`,
    crunLog: `${bundle}/crun.log`,
    terminationLog: `${bundle}/termination-log`,
  };
}

/** `crun --root=<root> <args>`. */
export function crunArgs(l: Layout, ...args: string[]): string[] {
  return [`--root=${l.crunRoot}`, ...args];
}

/** conmon's arguments (it runs `crun create` itself, then keeps the exit code and the CRI log). */
export function conmonArgs(
  l: Layout,
  o: { id: string; logPath: string; stdin: boolean; stdinOnce: boolean; tty: boolean },
): string[] {
  const p = bundlePaths(l, o.id);
  return [
    "--api-version",
    "1",
    "-c",
    o.id,
    "-u",
    o.id,
    "-n",
    o.id,
    "-r",
    l.crun,
    "--runtime-arg",
    `--root=${l.crunRoot}`,
    "--runtime-arg",
    `--log=file:${p.crunLog}`,
    "-b",
    p.bundle,
    "-p",
    p.pidFile,
    "-P",
    p.conmonPidFile,
    "-l",
    `k8s-file:${o.logPath}`,
    "--exit-dir",
    l.exits,
    "-0",
    p.persist,
    "--full-attach",
    "--socket-dir-path",
    p.bundle,
    "--log-level",
    "error",
    "--syslog",
    ...(o.stdin ? ["-i", ...(o.stdinOnce ? [] : ["--leave-stdin-open"])] : []),
    ...(o.tty ? ["-t"] : []),
  ];
}

/** A crun error that means the container is already gone. */
export function isGone(stderr: string): boolean {
  return /does not exist|not found|No such file/i.test(stderr);
}
