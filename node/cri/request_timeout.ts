/**
 * The kubelet's runtime request timeout (upstream `--runtime-request-timeout`, 2 minutes): every
 * RuntimeService call that does not answer in time fails with DeadlineExceeded, so a runtime
 * that never answers (a lost message, a wedged plugin) fails the pod's sync, which is retried,
 * instead of holding its pod worker forever. The deadlines are upstream's remote runtime's:
 * RunPodSandbox twice the timeout, StopContainer the timeout plus the grace period, ExecSync the
 * timeout plus the command's own. Streaming sessions (exec,
 * attach, port-forward) are not bounded.
 * A call that times out is not cancelled (CRI over gRPC cancels the request; the runtime may
 * still finish it): its late answer is dropped.
 * @module
 */
import type { RuntimeService } from "./api.ts";

/** Upstream's default `--runtime-request-timeout`. */
export const RUNTIME_REQUEST_TIMEOUT_MS = 120_000;

/** A runtime call that outlived its deadline (gRPC `DeadlineExceeded`, as upstream reports it). */
export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  constructor(readonly call: string, readonly timeoutMs: number) {
    super(
      `rpc error: code = DeadlineExceeded desc = context deadline exceeded (${call} after ${
        timeoutMs / 1000
      } s)`,
    );
  }
}

/** `p`, or DeadlineExceeded after `ms`; a late rejection of `p` is handled (not unhandled). */
export function withDeadline<T>(call: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(call, ms)), ms);
  });
  p.catch(() => {}); // the answer may come after the deadline
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** `rs` with each call bounded by the runtime request timeout (`timeoutMs`, default 2 minutes). */
export function withRequestTimeout(
  rs: RuntimeService,
  timeoutMs = RUNTIME_REQUEST_TIMEOUT_MS,
): RuntimeService {
  const t = timeoutMs;
  const bounded: RuntimeService = {
    version: () => withDeadline("Version", t, rs.version()),
    capabilities: () => rs.capabilities(),
    runPodSandbox: (config, handler) =>
      withDeadline("RunPodSandbox", 2 * t, rs.runPodSandbox(config, handler)),
    stopPodSandbox: (id) => withDeadline("StopPodSandbox", t, rs.stopPodSandbox(id)),
    removePodSandbox: (id) => withDeadline("RemovePodSandbox", t, rs.removePodSandbox(id)),
    podSandboxStatus: (id) => withDeadline("PodSandboxStatus", t, rs.podSandboxStatus(id)),
    listPodSandbox: (filter) => withDeadline("ListPodSandbox", t, rs.listPodSandbox(filter)),
    createContainer: (id, config, sandboxConfig) =>
      withDeadline("CreateContainer", t, rs.createContainer(id, config, sandboxConfig)),
    startContainer: (id) => withDeadline("StartContainer", t, rs.startContainer(id)),
    stopContainer: (id, grace) =>
      withDeadline("StopContainer", t + grace * 1000, rs.stopContainer(id, grace)),
    removeContainer: (id) => withDeadline("RemoveContainer", t, rs.removeContainer(id)),
    containerStatus: (id) => withDeadline("ContainerStatus", t, rs.containerStatus(id)),
    listContainers: (filter) => withDeadline("ListContainers", t, rs.listContainers(filter)),
    events: (handler) => rs.events(handler),
  };
  // The optional verbs, only where the runtime has them (callers test for their presence).
  if (rs.runPodSandboxDeferred) {
    const deferred = rs.runPodSandboxDeferred.bind(rs);
    // The sandbox answers within the deadline; its network, as RunPodSandbox's, within twice it.
    bounded.runPodSandboxDeferred = async (config, handler) => {
      const s = await withDeadline("RunPodSandbox", 2 * t, deferred(config, handler));
      return { id: s.id, networkReady: withDeadline("RunPodSandbox (network)", 2 * t, s.networkReady) };
    };
  }
  if (rs.podStatus) {
    const podStatus = rs.podStatus.bind(rs);
    bounded.podStatus = (uid) => withDeadline("PodStatus", t, podStatus(uid));
  }
  if (rs.execSync) {
    const execSync = rs.execSync.bind(rs);
    bounded.execSync = (id, cmd, ms) => withDeadline("ExecSync", t + ms, execSync(id, cmd, ms));
  }
  // Streaming sessions are the user's, with their own client timeouts: a session set up after a
  // deadline would be left open with no one to close it, so they pass through unbounded.
  if (rs.exec) bounded.exec = rs.exec.bind(rs);
  if (rs.attach) bounded.attach = rs.attach.bind(rs);
  if (rs.portForward) bounded.portForward = rs.portForward.bind(rs);
  return bounded;
}
