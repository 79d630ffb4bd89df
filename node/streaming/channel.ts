/**
 * The Kubernetes WebSocket channel protocols of exec and attach (`v5.channel.k8s.io`, which
 * kubectl 1.32 asks for first, and `v4.channel.k8s.io`): every binary message starts with its
 * stream — 0 stdin, 1 stdout, 2 stderr, 3 error (a `Status` as JSON, sent once at the end), 4
 * resize (`{"Width":80,"Height":24}`) — and, in v5 only, 255 announces the end of one stream
 * (`[255, 0]`: stdin is closed). Pure.
 * @module
 */

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

/** The subprotocols served, most preferred first. */
export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

/** The first protocol of the client's offer (its `Sec-WebSocket-Protocol`) that is served. */
export function negotiate(offered: string | null, served: readonly string[]): string | undefined {
  const list = (offered ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  return list.find((p) => served.includes(p));
}

/** A message of `stream`. */
export function frame(stream: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out[0] = stream;
  out.set(data, 1);
  return out;
}

/** What a client message asks for. */
export type ClientMessage =
  | { kind: "stdin"; data: Uint8Array }
  | { kind: "resize"; cols: number; rows: number }
  | { kind: "close"; stream: number }
  | { kind: "ignore" };

/** Decodes one client message. */
export function decodeClientMessage(msg: Uint8Array): ClientMessage {
  if (msg.length === 0) return { kind: "ignore" };
  const data = msg.subarray(1);
  switch (msg[0]) {
    case STDIN:
      return { kind: "stdin", data };
    case RESIZE: {
      try {
        const size = JSON.parse(new TextDecoder().decode(data)) as { Width?: number; Height?: number };
        const cols = Number(size.Width), rows = Number(size.Height);
        if (cols > 0 && rows > 0) return { kind: "resize", cols, rows };
      } catch { /* ignored */ }
      return { kind: "ignore" };
    }
    case CLOSE:
      return data.length ? { kind: "close", stream: data[0] } : { kind: "ignore" };
    default:
      return { kind: "ignore" };
  }
}

/** The `Status` sent on the error stream when the command ends (exec's exit code, as the kubelet reports it). */
export function exitStatus(exitCode: number, cmd: string[]): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${cmd.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** A `Status` for a failure inside the stream (after the upgrade). */
export function failureStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: "Failure", message, reason: "InternalError", code: 500 };
}
