/**
 * The userspace service proxy, for kernels where nftables cannot do the job: each cluster IP is
 * added to the bridge as a /32 (so pods and the node reach it as a local address, with no NAT and
 * no forwarding), and the agent listens on every cluster IP and port — and on every node port
 * of all the node's addresses — and relays each TCP connection (UDP datagrams, per client) to an
 * endpoint chosen round-robin, or the client's affinity endpoint. A connection to a port without
 * endpoints is closed at once. Incremental: only changed ports start or stop listeners; endpoint
 * lists change in place.
 *
 * Gaps versus the kernel proxy: the backend sees the node's address, not the client's (no
 * source IP preservation, so NetworkPolicy ingress rules on pods see the node); SCTP is not
 * relayed.
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { ip, IpError, isExists, isMissing } from "../cni/ip.ts";
import type { Endpoint, ServicePort } from "./model.ts";
import type { ProxyBackend } from "./nft_proxier.ts";
import { HostChanges } from "./host.ts";

interface Balancer {
  endpoints: Endpoint[];
  next: number;
  affinitySeconds?: number;
  affinity: Map<string, { ep: Endpoint; until: number }>;
}

function pick(b: Balancer, client: string): Endpoint | undefined {
  if (!b.endpoints.length) return undefined;
  const now = Date.now();
  if (b.affinitySeconds) {
    const hit = b.affinity.get(client);
    if (hit && hit.until > now && b.endpoints.some((e) => e.ip === hit.ep.ip && e.port === hit.ep.port)) {
      hit.until = now + b.affinitySeconds * 1000;
      return hit.ep;
    }
  }
  const ep = b.endpoints[b.next++ % b.endpoints.length];
  if (b.affinitySeconds) b.affinity.set(client, { ep, until: now + b.affinitySeconds * 1000 });
  return ep;
}

interface Listener {
  key: string;
  balancer: Balancer;
  close(): Promise<void>;
}

async function relayTcp(conn: Deno.TcpConn, b: Balancer): Promise<void> {
  const client = (conn.remoteAddr as Deno.NetAddr).hostname;
  const ep = pick(b, client);
  if (!ep) {
    conn.close();
    return;
  }
  let upstream: Deno.TcpConn;
  try {
    upstream = await Deno.connect({ hostname: ep.ip, port: ep.port });
  } catch {
    conn.close();
    return;
  }
  await Promise.allSettled([
    conn.readable.pipeTo(upstream.writable),
    upstream.readable.pipeTo(conn.writable),
  ]);
  for (const c of [conn, upstream]) {
    try {
      c.close();
    } catch { /* closed */ }
  }
}

function listenTcp(hostname: string, port: number, b: Balancer, key: string): Listener {
  const l = Deno.listen({ hostname, port, transport: "tcp" });
  const conns = new Set<Deno.TcpConn>();
  const loop = (async () => {
    try {
      for await (const c of l) {
        conns.add(c);
        relayTcp(c, b).catch(() => {}).finally(() => conns.delete(c));
      }
    } catch { /* closed */ }
  })();
  return {
    key,
    balancer: b,
    async close() {
      try {
        l.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
    },
  };
}

function listenUdp(hostname: string, port: number, b: Balancer, key: string): Promise<Listener> {
  const sock = dgram.createSocket("udp4");
  const sessions = new Map<string, { up: dgram.Socket; timer: ReturnType<typeof setTimeout> }>();
  const end = (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    clearTimeout(s.timer);
    sessions.delete(id);
    try {
      s.up.close();
    } catch { /* closed */ }
  };
  sock.on("message", (msg: Buffer, rinfo: { address: string; port: number }) => {
    const id = `${rinfo.address}:${rinfo.port}`;
    let s = sessions.get(id);
    if (!s) {
      const ep = pick(b, rinfo.address);
      if (!ep) return;
      const up = dgram.createSocket("udp4");
      up.on("message", (reply: Buffer) => sock.send(reply, rinfo.port, rinfo.address));
      up.on("error", () => end(id));
      up.connect(ep.port, ep.ip);
      s = { up, timer: setTimeout(() => end(id), 30_000) };
      sessions.set(id, s);
      const session = s;
      up.once("connect", () => session.up.send(msg));
      return;
    }
    clearTimeout(s.timer);
    s.timer = setTimeout(() => end(id), 30_000);
    s.up.send(msg);
  });
  sock.on("error", () => {});
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, hostname, () => {
      sock.off("error", reject);
      resolve({
        key,
        balancer: b,
        async close() {
          for (const id of [...sessions.keys()]) end(id);
          await new Promise<void>((r) => sock.close(() => r()));
        },
      });
    });
  });
}

export interface UserspaceProxierOptions {
  bridge: string;
  gateway: string;
  log?: (line: string) => void;
}

export class UserspaceProxier implements ProxyBackend {
  readonly mode = "userspace" as const;
  readonly #opts: UserspaceProxierOptions;
  readonly #host: HostChanges;
  readonly #listeners = new Map<string, Listener>();
  readonly #addresses = new Set<string>();

  private constructor(opts: UserspaceProxierOptions) {
    this.#opts = opts;
    this.#host = new HostChanges(opts.bridge);
  }

  static async start(opts: UserspaceProxierOptions): Promise<UserspaceProxier> {
    const p = new UserspaceProxier(opts);
    try {
      await p.#host.guardRoutes(opts.gateway);
    } catch (e) {
      opts.log?.(`proxy: could not add the guard routes: ${(e as Error).message}`);
    }
    return p;
  }

  async #address(vip: string, add: boolean): Promise<void> {
    try {
      await ip(["addr", add ? "add" : "del", `${vip}/32`, "dev", this.#opts.bridge]);
    } catch (e) {
      if (add ? !isExists(e) : !(isMissing(e) || e instanceof IpError)) throw e;
    }
    if (add) this.#addresses.add(vip);
    else this.#addresses.delete(vip);
  }

  async sync(ports: ServicePort[]): Promise<void> {
    const want = new Map<string, { host: string; port: number; protocol: string; sp: ServicePort; eps: Endpoint[] }>();
    for (const sp of ports) {
      if (sp.protocol === "SCTP") continue;
      want.set(`${sp.clusterIP}:${sp.port}/${sp.protocol}`, {
        host: sp.clusterIP,
        port: sp.port,
        protocol: sp.protocol,
        sp,
        eps: sp.clusterEndpoints,
      });
      if (sp.nodePort) {
        want.set(`0.0.0.0:${sp.nodePort}/${sp.protocol}`, {
          host: "0.0.0.0",
          port: sp.nodePort,
          protocol: sp.protocol,
          sp,
          eps: sp.nodePortEndpoints,
        });
      }
    }
    for (const [key, l] of this.#listeners) {
      if (!want.has(key)) {
        await l.close();
        this.#listeners.delete(key);
      }
    }
    const vips = new Set(ports.map((p) => p.clusterIP));
    for (const vip of vips) if (!this.#addresses.has(vip)) await this.#address(vip, true);
    for (const [key, w] of want) {
      const existing = this.#listeners.get(key);
      if (existing) {
        existing.balancer.endpoints = w.eps;
        existing.balancer.affinitySeconds = w.sp.affinitySeconds;
        continue;
      }
      const b: Balancer = { endpoints: w.eps, next: 0, affinitySeconds: w.sp.affinitySeconds, affinity: new Map() };
      try {
        const l = w.protocol === "UDP"
          ? await listenUdp(w.host, w.port, b, key)
          : listenTcp(w.host, w.port, b, key);
        this.#listeners.set(key, l);
      } catch (e) {
        this.#opts.log?.(`proxy: cannot listen on ${key} for ${w.sp.id}: ${(e as Error).message}`);
      }
    }
    for (const vip of [...this.#addresses]) if (!vips.has(vip)) await this.#address(vip, false);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#listeners.values()].map((l) => l.close()));
    this.#listeners.clear();
    for (const vip of [...this.#addresses]) await this.#address(vip, false).catch(() => {});
    await this.#host.revert();
  }
}
