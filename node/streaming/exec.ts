/**
 * The kubelet's `/exec/{namespace}/{pod}/{container}` and `/attach/{namespace}/{pod}/{container}`
 * over WebSocket (channel.ts). The query is the API server's: `command` (repeated), `stdin`,
 * `stdout`, `stderr`, `tty`. Failures found before the upgrade (no such pod or container, not
 * running, a runtime without exec) are plain HTTP errors with upstream's wording; the exit code
 * is the final message on the error stream.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import type { RuntimeService, StreamSession } from "../cri/api.ts";
import { podContainerSpecs, type RuntimePodStatus } from "../kubelet/runtime_pod.ts";
import {
  CHANNEL_PROTOCOLS,
  decodeClientMessage,
  ERROR,
  exitStatus,
  failureStatus,
  frame,
  negotiate,
  STDERR,
  STDIN,
  STDOUT,
} from "./channel.ts";

/** What the streaming endpoints need from the agent. */
export interface StreamingSource {
  pod(namespace: string, name: string): Pod | undefined;
  runtimeStatus(uid: string): Promise<RuntimePodStatus>;
  readonly runtime: RuntimeService;
}

export function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "true" || v === "1";
}

/** The running container `name` of the pod, or the refusal to answer. */
export async function runningContainer(
  source: StreamingSource,
  namespace: string,
  podName: string,
  name: string,
): Promise<{ pod: Pod; id: string } | Response> {
  const pod = source.pod(namespace, podName);
  if (!pod) return text(404, `pod "${namespace}/${podName}" not found on this node`);
  if (!podContainerSpecs(pod).some((c) => c.name === name)) {
    return text(404, `container not found ("${name}")`);
  }
  const rs = await source.runtimeStatus(pod.metadata!.uid!);
  const c = rs.containers.find((x) => x.metadata.name === name);
  if (!c || c.state !== "CONTAINER_RUNNING") {
    return text(400, `container ${name} is not running (pod ${podName})`);
  }
  return { pod, id: c.id };
}

/** Serves `/exec/...` or `/attach/...`. */
export async function serveExec(
  req: Request,
  source: StreamingSource,
  kind: "exec" | "attach",
  namespace: string,
  podName: string,
  container: string,
  query: URLSearchParams,
): Promise<Response> {
  if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return text(400, `${kind} needs a WebSocket upgrade (${CHANNEL_PROTOCOLS.join(", ")}); SPDY is not served`);
  }
  const protocol = negotiate(req.headers.get("sec-websocket-protocol"), CHANNEL_PROTOCOLS);
  if (!protocol) {
    return text(400, `no supported WebSocket subprotocol: this node serves ${CHANNEL_PROTOCOLS.join(", ")}`);
  }
  const target = await runningContainer(source, namespace, podName, container);
  if (target instanceof Response) return target;
  const cmd = query.getAll("command");
  const opts = {
    stdin: flag(query, "stdin"),
    stdout: flag(query, "stdout"),
    stderr: flag(query, "stderr"),
    tty: flag(query, "tty"),
  };
  if (kind === "exec" && cmd.length === 0) return text(400, "you must specify at least one command for the container");
  const runtime = source.runtime;
  let session: StreamSession;
  try {
    if (kind === "exec") {
      if (!runtime.exec) return text(400, "this container's runtime cannot exec");
      session = await runtime.exec(target.id, { cmd, tty: opts.tty, stdin: opts.stdin });
    } else {
      if (!runtime.attach) return text(400, "this container's runtime cannot attach");
      session = await runtime.attach(target.id, { stdin: opts.stdin, tty: opts.tty });
    }
  } catch (e) {
    return text(500, `${kind} failed: ${(e as Error).message ?? e}`);
  }
  const { socket, response } = Deno.upgradeWebSocket(req, { protocol, idleTimeout: 0 });
  socket.binaryType = "arraybuffer";
  const v5 = protocol.startsWith("v5.");
  const send = (stream: number, data: Uint8Array) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame(stream, data));
  };
  let finished = false;
  socket.onmessage = (ev) => {
    const data = typeof ev.data === "string" ? new TextEncoder().encode(ev.data) : new Uint8Array(ev.data);
    const m = decodeClientMessage(data);
    if (m.kind === "stdin") session.write(m.data).catch(() => {});
    else if (m.kind === "resize") session.resize(m.cols, m.rows);
    else if (m.kind === "close" && m.stream === STDIN && v5) session.closeStdin().catch(() => {});
  };
  socket.onclose = () => {
    // The client went away: an exec's process is killed, an attach detaches.
    if (!finished) session.close().catch(() => {});
  };
  socket.onerror = () => {};
  socket.onopen = () => {
    (async () => {
      let status: Record<string, unknown>;
      try {
        for await (const chunk of session.output) {
          if (chunk.stream === "stderr" && !opts.tty) {
            if (opts.stderr) send(STDERR, chunk.data);
          } else if (opts.stdout) send(STDOUT, chunk.data);
        }
        const code = await session.exited;
        status = kind === "exec" ? exitStatus(code, cmd) : { metadata: {}, status: "Success" };
      } catch (e) {
        status = failureStatus((e as Error).message ?? String(e));
      }
      finished = true;
      send(ERROR, new TextEncoder().encode(JSON.stringify(status)));
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    })();
  };
  return response;
}
