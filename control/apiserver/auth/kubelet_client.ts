/**
 * How the API server calls node agents (logs, exec, port-forward, proxy): HTTPS to the node's
 * InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`, verifying the node's serving
 * certificate against the cluster CA, and presenting a short-lived bearer JWT
 * (`sub: system:kube-apiserver`, audience `system:node:<name>`) the node verifies with the
 * cluster's JWKS. Without TLS material it speaks plain HTTP without a credential (the insecure
 * development mode of `startControlPlane` without options).
 *
 * @example
 * ```ts
 * const res = await server.kubelet.fetch(node, `/containerLogs/${ns}/${pod}/${container}?follow=true`);
 * ```
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { NodeCredentials } from "./node_credentials.ts";

/** What the API server needs to reach node agents securely. */
export interface KubeletClientOptions {
  /** CA certificates (PEM) that sign node serving certificates. Setting it switches to HTTPS. */
  caCerts?: string[];
}

/** The base URL of a node agent's endpoint, or undefined when the Node does not publish one. */
export function nodeEndpoint(node: KubeObject, scheme: "http" | "https"): string | undefined {
  const addresses: { type: string; address: string }[] = node.status?.addresses ?? [];
  const addr = addresses.find((a) => a.type === "InternalIP")?.address ??
    addresses.find((a) => a.type === "Hostname")?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!addr || !port) return undefined;
  return `${scheme}://${addr.includes(":") ? `[${addr}]` : addr}:${port}`;
}

export class KubeletClient implements Disposable {
  readonly #client: Deno.HttpClient | undefined;
  readonly #credentials: () => NodeCredentials | null;
  readonly scheme: "http" | "https";

  constructor(opts: KubeletClientOptions, credentials: () => NodeCredentials | null) {
    this.#client = opts.caCerts?.length ? Deno.createHttpClient({ caCerts: opts.caCerts }) : undefined;
    this.scheme = this.#client ? "https" : "http";
    this.#credentials = credentials;
  }

  /** The node endpoint's base URL (https when the cluster has TLS material). */
  endpoint(node: KubeObject): string | undefined {
    return nodeEndpoint(node, this.scheme);
  }

  /** Calls `path` (with its query) on the node agent of `node`; rejects when the node has no endpoint. */
  async fetch(node: KubeObject, path: string, init: RequestInit = {}): Promise<Response> {
    const base = this.endpoint(node);
    if (!base) throw new Error(`node ${node.metadata.name} publishes no agent endpoint`);
    const headers = new Headers(init.headers);
    const creds = this.#credentials();
    if (creds) headers.set("Authorization", `Bearer ${await creds.kubeletClientToken(node.metadata.name!)}`);
    return await fetch(base + path, { ...init, headers, ...(this.#client ? { client: this.#client } : {}) });
  }

  /**
   * Opens a WebSocket to `path` on the node agent (exec, attach, port-forward), offering
   * `protocols`, with the same credential and CA as {@linkcode fetch}. Resolves once it is open,
   * with the messages that arrived meanwhile (the node may speak first).
   */
  async webSocket(
    node: KubeObject,
    path: string,
    protocols: string[],
  ): Promise<{ socket: WebSocket; received: (string | ArrayBuffer)[] }> {
    const base = this.endpoint(node);
    if (!base) throw new Error(`node ${node.metadata.name} publishes no agent endpoint`);
    const headers: Record<string, string> = {};
    const creds = this.#credentials();
    if (creds) headers.Authorization = `Bearer ${await creds.kubeletClientToken(node.metadata.name!)}`;
    const ws = new WebSocket(base.replace(/^http/, "ws") + path, {
      protocols,
      headers,
      ...(this.#client ? { client: this.#client } : {}),
    } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    const received: (string | ArrayBuffer)[] = [];
    ws.onmessage = (e) => received.push(e.data);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = (e) => reject(new Error((e as ErrorEvent).message ?? "the node refused the upgrade"));
      ws.onclose = () => reject(new Error("the node closed the connection"));
    });
    ws.onerror = ws.onclose = null;
    return { socket: ws, received };
  }

  [Symbol.dispose](): void {
    this.#client?.close();
  }
}
