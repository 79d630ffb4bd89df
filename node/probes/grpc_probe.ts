/**
 * The kubelet's `grpc` probe: one `grpc.health.v1.Health/Check` call over HTTP/2 without TLS
 * (h2c with prior knowledge, as grpc-go's insecure dial), to the pod IP and the probe's port,
 * with the probe's `service`. `SERVING` is success. Every other answer, and every transport
 * error, is a failure worded as upstream's `pkg/probe/grpc` words it, so `Unhealthy` events read
 * the same.
 *
 * @example
 * ```ts
 * const r = await grpcProbe("198.18.0.5", 50051, "", 1000);
 * // { result: "failure", message: 'service unhealthy (responded with "NOT_SERVING")' }
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import protobuf from "protobufjs";
import { joinHostPort } from "./endpoint.ts";
import type { ProbeOutcome } from "./prober.ts";

const HEALTH = protobuf.Root.fromJSON({
  nested: {
    HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
    HealthCheckResponse: {
      fields: { status: { type: "ServingStatus", id: 1 } },
      nested: {
        ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } },
      },
    },
  },
});
const Request = HEALTH.lookupType("HealthCheckRequest");
const Response = HEALTH.lookupType("HealthCheckResponse");
const ServingStatus = HEALTH.lookupEnum("HealthCheckResponse.ServingStatus");

/** gRPC status codes by number, named as grpc-go's `codes.Code.String()` names them. */
const CODES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];
const UNIMPLEMENTED = 12;

/** A call's end as grpc-go reports it: a status code and its message. */
interface RpcStatus {
  code: number;
  message: string;
}

/** Calls `Health/Check` on `host:port` and judges the answer as the kubelet does. */
export async function grpcProbe(
  host: string,
  port: number,
  service: string,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const addr = joinHostPort(host, port);
  const within = `${timeoutMs / 1000}s`;
  const deadline = Date.now() + timeoutMs;
  const session = http2.connect(`http://${addr}`);
  // A session error also fails the call in flight; this keeps it from being unhandled.
  session.on("error", () => {});
  try {
    const connected = await settle(connect(session), deadline);
    if (connected === "timeout") {
      return {
        result: "failure",
        message: `timeout: failed to connect service "${addr}" within ${within}: context deadline exceeded`,
      };
    }
    if (connected instanceof Error) {
      const message = `error: failed to connect service at "${addr}": ${connected.message}`;
      return { result: "failure", message };
    }
    const answer = await settle(check(session, service, deadline - Date.now()), deadline);
    if (answer === "timeout") {
      return { result: "failure", message: `timeout: health rpc did not complete within ${within}` };
    }
    if (answer instanceof Error) {
      return { result: "failure", message: `error: health rpc probe failed: ${answer.message}` };
    }
    if ("code" in answer) {
      if (answer.code === UNIMPLEMENTED) {
        return {
          result: "failure",
          message: "error: this server does not implement the grpc health protocol " +
            `(grpc.health.v1.Health): ${answer.message}`,
        };
      }
      return {
        result: "failure",
        message: `error: health rpc probe failed: rpc error: code = ${
          CODES[answer.code] ?? `Code(${answer.code})`
        } desc = ${answer.message}`,
      };
    }
    if (answer.status !== "SERVING") {
      return { result: "failure", message: `service unhealthy (responded with "${answer.status}")` };
    }
    return { result: "success", message: "service healthy" };
  } finally {
    session.destroy();
  }
}

/** `p`'s value, its rejection as an Error, or "timeout" once `deadline` (epoch ms) passes. */
async function settle<T>(p: Promise<T>, deadline: number): Promise<T | Error | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), deadline - Date.now()));
  try {
    return await Promise.race([p.catch((e) => e instanceof Error ? e : new Error(String(e))), late]);
  } finally {
    clearTimeout(timer);
  }
}

function connect(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
}

/** One `Check` call: the serving status the server answered, or the call's gRPC status. */
function check(
  session: http2.ClientHttp2Session,
  service: string,
  timeoutMs: number,
): Promise<{ status: string } | RpcStatus> {
  const message = Request.encode(Request.create({ service })).finish();
  const frame = new Uint8Array(5 + message.byteLength);
  new DataView(frame.buffer).setUint32(1, message.byteLength);
  frame.set(message, 5);
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
      "user-agent": "kube-probe/1.32",
      "grpc-timeout": `${Math.max(1, Math.ceil(timeoutMs))}m`,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Uint8Array[] = [];
    stream.on("response", (h) => headers = h);
    stream.on("trailers", (t) => trailers = t);
    stream.on("data", (c: Uint8Array) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      try {
        resolve(readAnswer(headers, trailers, Buffer.concat(chunks), stream.rstCode));
      } catch (e) {
        reject(e);
      }
    });
    stream.end(frame);
  });
}

/** The answer of a finished call, read as grpc-go's client reads it. */
export function readAnswer(
  headers: Record<string, string | string[] | number | undefined>,
  trailers: Record<string, string | string[] | number | undefined>,
  body: Uint8Array,
  rstCode = 0,
): { status: string } | RpcStatus {
  const httpStatus = Number(headers[":status"] ?? 0);
  if (httpStatus !== 200) {
    if (rstCode && !httpStatus) {
      return { code: 13, message: `stream terminated by RST_STREAM with error code: ${rstCode}` };
    }
    return {
      code: httpStatusCode(httpStatus),
      message: `unexpected HTTP status code received from server: ${httpStatus}`,
    };
  }
  // A "trailers-only" answer carries its status in the headers.
  const grpcStatus = trailers["grpc-status"] ?? headers["grpc-status"];
  if (grpcStatus === undefined) {
    return { code: 13, message: "server closed the stream without sending trailers" };
  }
  const code = Number(grpcStatus);
  if (code !== 0) {
    const raw = String(trailers["grpc-message"] ?? headers["grpc-message"] ?? "");
    return { code, message: percentDecode(raw) };
  }
  if (body.byteLength < 5) return { code: 13, message: "server sent no response message" };
  if (body[0] !== 0) return { code: 13, message: "server sent a compressed message it was not asked for" };
  const length = new DataView(body.buffer, body.byteOffset).getUint32(1);
  if (body.byteLength < 5 + length) return { code: 13, message: "server sent a truncated response message" };
  const decoded = Response.decode(body.subarray(5, 5 + length)) as unknown as { status?: number };
  const status = decoded.status ?? 0;
  return { status: ServingStatus.valuesById[status] ?? String(status) };
}

/** gRPC's mapping of an HTTP status without a gRPC status (doc/http-grpc-status-mapping.md). */
function httpStatusCode(status: number): number {
  if (status === 400) return 13; // Internal
  if (status === 401) return 16; // Unauthenticated
  if (status === 403) return 7; // PermissionDenied
  if (status === 404) return 12; // Unimplemented
  if ([429, 502, 503, 504].includes(status)) return 14; // Unavailable
  return 2; // Unknown
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
