/**
 * Where a probe or a lifecycle hook connects: a container port by number or name, `host:port`,
 * and an `httpGet` action's URL and headers. Pure.
 * @module
 */
import type { Container, Probe } from "kubernetes-types/core/v1.d.ts";

/** Resolves an IntOrString port against the container's named ports. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === "number") return port;
  if (/^[0-9]+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** `host:port`, an IPv6 host in brackets (Go's `net.JoinHostPort`). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The URL and headers of an `httpGet` action (a probe's, a lifecycle hook's) to `host:port`. */
export function httpGetRequest(
  get: NonNullable<Probe["httpGet"]>,
  host: string,
  port: number,
  userAgent: string,
): { url: string; headers: Headers } {
  const scheme = (get.scheme ?? "HTTP").toLowerCase();
  let path = get.path ?? "/";
  if (!path.startsWith("/")) path = `/${path}`;
  const headers = new Headers({ "User-Agent": userAgent, Accept: "*/*" });
  for (const h of get.httpHeaders ?? []) headers.set(h.name, h.value);
  return { url: `${scheme}://${joinHostPort(host, port)}${path}`, headers };
}
