/**
 * Runs one probe, as the kubelet's prober: `httpGet` (2xx and 3xx are success), `tcpSocket`
 * (a connection opens) and `grpc` (`grpc.health.v1.Health/Check` answers `SERVING`). `exec` is the
 * runtime's to run and is refused for runtimes without it (see the admission plugin). Messages
 * follow upstream's wording so events read the same.
 *
 * @example
 * ```ts
 * const r = await runProbe(container.livenessProbe!, { podIP: "198.18.0.5", container });
 * if (r.result === "failure") console.log(r.message);
 * ```
 * @module
 */
import type { Container, Probe } from "kubernetes-types/core/v1.d.ts";
import { httpGetRequest, resolvePort } from "./endpoint.ts";
import { grpcProbe } from "./grpc_probe.ts";

export type ProbeResult = "success" | "failure";

export interface ProbeOutcome {
  result: ProbeResult;
  message: string;
}

export interface ProbeTarget {
  podIP: string;
  container: Container;
  /** Runs an exec probe, for runtimes that can; absent when they cannot. */
  exec?: (command: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string }>;
}

/** Runs `probe` once against `target`. */
export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return await httpProbe(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target.container);
    if (port === undefined) return { result: "failure", message: `unknown port "${probe.tcpSocket.port}"` };
    return await tcpProbe(probe.tcpSocket.host || target.podIP, port, timeoutMs);
  }
  if (probe.exec) {
    if (!target.exec) return { result: "failure", message: "exec probes are not supported by this runtime" };
    const r = await target.exec(probe.exec.command ?? [], timeoutMs);
    return r.exitCode === 0 ? { result: "success", message: r.output } : {
      result: "failure",
      message: r.output || `command ${JSON.stringify(probe.exec.command)} exited with ${r.exitCode}`,
    };
  }
  if (probe.grpc) {
    return await grpcProbe(target.podIP, probe.grpc.port, probe.grpc.service ?? "", timeoutMs);
  }
  return { result: "failure", message: "probe has no handler" };
}

async function httpProbe(
  get: NonNullable<Probe["httpGet"]>,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const port = resolvePort(get.port, target.container);
  if (port === undefined) return { result: "failure", message: `unknown port "${get.port}"` };
  const host = get.host || target.podIP;
  const { url, headers } = httpGetRequest(get, host, port, "kube-probe/1.32");
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(url, { headers, signal: ctl.signal, redirect: "follow" });
    const body = (await res.text()).slice(0, 10 * 1024);
    if (res.status >= 200 && res.status < 400) return { result: "success", message: body };
    return { result: "failure", message: `HTTP probe failed with statuscode: ${res.status}` };
  } catch (e) {
    if (ctl.signal.aborted) {
      return {
        result: "failure",
        message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      };
    }
    return { result: "failure", message: `Get "${url}": ${dialMessage(e, host, port)}` };
  } finally {
    clearTimeout(timer);
  }
}

async function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Deno.connect({ hostname: host, port, transport: "tcp" });
  try {
    const conn = await Promise.race([
      connecting,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error("i/o timeout")), timeoutMs)
      ),
    ]);
    conn.close();
    return { result: "success", message: "" };
  } catch (e) {
    connecting.then((c) => c.close(), () => {});
    return { result: "failure", message: dialMessage(e, host, port) };
  } finally {
    clearTimeout(timer);
  }
}

function dialMessage(e: unknown, host: string, port: number): string {
  const err = e as Error & { cause?: Error };
  const text = `${err?.message ?? e} ${err?.cause?.message ?? ""}`;
  let what = "connect: connection refused";
  if (/timeout|timed out/i.test(text)) what = "i/o timeout";
  else if (/unreachable/i.test(text)) what = "connect: no route to host";
  else if (!/refused/i.test(text)) what = text.trim();
  return `dial tcp ${host}:${port}: ${what}`;
}
