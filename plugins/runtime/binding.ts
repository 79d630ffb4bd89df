/**
 * The runtime kind's guest side: {@linkcode runtimeOps} run in the runner on the plugin's
 * `runtime-service` and `image-service` exports (CRI verbs over `skiff:runtime@0.2.0` records,
 * jco's camelCase, or 0.1.0's) and refuse malformed answers; {@linkcode runtimeImports} is the world's
 * `node-images` import, served by the node (nested host calls of `node-images`). Records cross
 * the runner pipe as JSON, so `s64` fields travel as numbers and are made BigInts here (and back).
 * Pure.
 * @module
 */
import type { HostCallFn } from "../host/bindings.ts";
import { type GuestOps, MalformedResult } from "../host/protocol.ts";

/** WIT `pod-sandbox-status`, as it crosses the pipe. */
export interface WitSandboxStatus {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  state: "sandbox-ready" | "sandbox-notready";
  createdAt: number;
  ip?: string | null;
  labels: { key: string; value: string }[];
  annotations: { key: string; value: string }[];
  netns: string;
  podDir: string;
  logDirectory: string;
  runtimeHandler: string;
}

/** WIT `container-status`, as it crosses the pipe. */
export interface WitContainerStatus {
  id: string;
  name: string;
  attempt: number;
  state: "container-created" | "container-running" | "container-exited" | "container-unknown";
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: string;
  imageRef: string;
  reason: string;
  message: string;
  logPath: string;
  podSandboxId: string;
  labels: { key: string; value: string }[];
  annotations: { key: string; value: string }[];
  mounts: { containerPath: string; hostPath: string; readonly: boolean }[];
  stdin: boolean;
  tty: boolean;
}

const SANDBOX_STATES = ["sandbox-ready", "sandbox-notready"];
const CONTAINER_STATES = ["container-created", "container-running", "container-exited", "container-unknown"];

/** BigInts (s64) to numbers, deeply. */
export function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Uint8Array) return v;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function id(v: unknown, what: string): string {
  if (typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(v)) {
    throw new MalformedResult(
      `${what} answered an id that is not [A-Za-z0-9_.-]{1,128}: ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function sandboxStatus(v: unknown): WitSandboxStatus {
  const s = plain(v) as WitSandboxStatus;
  if (!s || typeof s !== "object" || !SANDBOX_STATES.includes(s.state)) {
    throw new MalformedResult(`a sandbox status with state ${JSON.stringify(s?.state)}`);
  }
  id(s.id, "get-pod-sandbox-status");
  return s;
}

function containerStatus(v: unknown): WitContainerStatus {
  const c = plain(v) as WitContainerStatus;
  if (!c || typeof c !== "object" || !CONTAINER_STATES.includes(c.state)) {
    throw new MalformedResult(`a container status with state ${JSON.stringify(c?.state)}`);
  }
  id(c.id, "get-container-status");
  return c;
}

function list<T>(v: unknown, one: (x: unknown) => T, what: string): T[] {
  if (!Array.isArray(v)) throw new MalformedResult(`${what} answered no list`);
  return v.map(one);
}

type Fn = (...a: unknown[]) => unknown;
const rt = (p: Record<string, unknown>, fn: string) => p[fn] as Fn;

/** WIT records from the pipe: numbers of `s64` fields as BigInts. */
function exitRecord(e: { exitCode: number; oomKilled: boolean; finishedAt: number; message: string }) {
  return { ...e, finishedAt: BigInt(Math.trunc(e.finishedAt)) };
}

/**
 * `run-pod-sandbox`, `create-container` and `start-container` as they cross the pipe: a 0.2.0
 * guest answers the status, a 0.1.0 guest the id (or nothing, for a start); the node tells
 * them apart by the answer's type.
 */
function idOr<T>(v: unknown, status: (x: unknown) => T, what: string): string | T {
  return typeof v === "string" ? id(v, what) : status(v);
}

/** The runtime kind's operations, as the runner calls them. */
export const runtimeOps: GuestOps = {
  configure: (p, settings: string) => rt(p, "configure")(settings),
  runPodSandbox: (p, config, handler: string) =>
    idOr(rt(p, "runPodSandbox")(config, handler), sandboxStatus, "run-pod-sandbox"),
  stopPodSandbox: (p, sid: string) => rt(p, "stopPodSandbox")(sid) ?? null,
  removePodSandbox: (p, sid: string) => rt(p, "removePodSandbox")(sid) ?? null,
  getPodSandboxStatus: (p, sid: string) => sandboxStatus(rt(p, "getPodSandboxStatus")(sid)),
  listPodSandbox: (p) => list(rt(p, "listPodSandbox")(), sandboxStatus, "list-pod-sandbox"),
  createContainer: (p, sid: string, config, sandbox) =>
    idOr(rt(p, "createContainer")(sid, config, sandbox), containerStatus, "create-container"),
  startContainer: (p, cid: string) => {
    const v = rt(p, "startContainer")(cid);
    return v === undefined || v === null ? null : containerStatus(v);
  },
  stopContainer: (p, cid: string, timeout: number) =>
    rt(p, "stopContainer")(cid, BigInt(Math.trunc(timeout))) ?? null,
  containerExited: (p, cid: string, exit) => rt(p, "containerExited")(cid, exitRecord(exit)) ?? null,
  removeContainer: (p, cid: string) => rt(p, "removeContainer")(cid) ?? null,
  getContainerStatus: (p, cid: string) => containerStatus(rt(p, "getContainerStatus")(cid)),
  listContainers: (p, sid?: string | null) =>
    list(rt(p, "listContainers")(sid ?? undefined), containerStatus, "list-containers"),
  execSync: (p, cid: string, cmd: string[], timeout: number) => {
    const r = plain(rt(p, "execSync")(cid, cmd, BigInt(Math.trunc(timeout)))) as {
      exitCode: number;
      stdout: Uint8Array;
      stderr: Uint8Array;
    };
    if (!r || typeof r.exitCode !== "number") throw new MalformedResult("exec-sync answered no exit code");
    // Bytes cross the pipe as JSON: lists of numbers.
    return { exitCode: r.exitCode, stdout: [...(r.stdout ?? [])], stderr: [...(r.stderr ?? [])] };
  },
  pullImage: (p, image, auth) => rt(p, "pullImage")(image, auth ?? undefined),
  listImages: (p) => plain(rt(p, "listImages")()),
  getImageStatus: (p, image) => plain(rt(p, "getImageStatus")(image)) ?? null,
  removeImage: (p, image) => rt(p, "removeImage")(image) ?? null,
};

type ImageInfo = { id: string; repoTags: string[]; repoDigests: string[]; size: number | bigint };
const imageInfo = (i: ImageInfo) => ({ ...i, size: BigInt(Math.max(0, Math.trunc(Number(i.size ?? 0)))) });

/** The world's `node-images` import: each function is a nested host call. */
export function runtimeImports(hostCall: HostCallFn): Record<string, Record<string, unknown>> {
  const call = (fn: string) => (...args: unknown[]) => hostCall("node-images", fn, args);
  return {
    "skiff:runtime/types": {},
    "skiff:runtime/node-images": {
      nodeConfig: call("node-config"),
      resolveImage: call("resolve-image"),
      prepareBundle: call("prepare-bundle"),
      removeBundle: call("remove-bundle"),
      // The image verbs: `image-info.size` is a u64 (a BigInt to jco), `option` none is undefined.
      pullImage: call("pull-image"),
      listImages: (...args: unknown[]) =>
        (hostCall("node-images", "list-images", args) as ImageInfo[]).map(imageInfo),
      imageStatus: (...args: unknown[]) => {
        const i = hostCall("node-images", "image-status", args) as ImageInfo | null | undefined;
        return i ? imageInfo(i) : undefined;
      },
      removeImage: call("remove-image"),
      writeExecFifo: call("write-exec-fifo"),
    },
  };
}
