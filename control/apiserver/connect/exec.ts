/**
 * `pods/exec` and `pods/attach` (`kubectl exec`, `kubectl attach`): validates the
 * PodExecOptions/PodAttachOptions as upstream does (the container, as for logs; at least one
 * command for exec; a pod that has not completed), then relays the client's WebSocket to the
 * node's `/exec/{ns}/{pod}/{container}` or `/attach/...` (stream_proxy.ts).
 * @module
 */
import { badRequest } from "../../api/status.ts";
import type { RequestContext } from "../context.ts";
import type { ApiServer } from "../server.ts";
import { chooseContainer } from "./pod_log.ts";
import { podAndNode, relayWebSocket, requireWebSocket } from "./stream_proxy.ts";

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "true" || v === "1";
}

/** The node query of an exec or attach. Pure. */
export function streamQuery(q: URLSearchParams, withCommand: boolean): URLSearchParams {
  const out = new URLSearchParams();
  if (withCommand) for (const c of q.getAll("command")) out.append("command", c);
  for (const f of ["stdin", "stdout", "stderr", "tty"]) if (bool(q, f)) out.set(f, "true");
  return out;
}

function connectHandler(kind: "exec" | "attach") {
  return async (server: ApiServer, ctx: RequestContext): Promise<Response> => {
    const q = ctx.query;
    const { pod, node } = await podAndNode(server, ctx);
    const container = chooseContainer(pod, q.get("container") ?? "");
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") {
      throw badRequest(`cannot ${kind} into a container in a completed pod; current phase is ${phase}`);
    }
    if (kind === "exec" && q.getAll("command").length === 0) {
      throw badRequest("you must specify at least one command for the container");
    }
    if (!["stdin", "stdout", "stderr"].some((f) => bool(q, f))) {
      throw badRequest("you must specify at least one of stdin, stdout, stderr");
    }
    requireWebSocket(ctx, `pods/${kind}`);
    const path = `/${kind}/${encodeURIComponent(ctx.info.namespace)}/${encodeURIComponent(ctx.info.name)}/${
      encodeURIComponent(container)
    }?${streamQuery(q, kind === "exec")}`;
    return await relayWebSocket(server, ctx, node, path);
  };
}

/** The `pods/exec` connect handler. */
export const podExec = connectHandler("exec");
/** The `pods/attach` connect handler. */
export const podAttach = connectHandler("attach");
