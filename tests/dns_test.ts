/**
 * Cluster DNS: the server on loopback (UDP, TCP, truncation, forwarding to a resolver this test
 * runs on loopback, clean failure without one, a fuzzed packet storm), then end to end on a node:
 * Services, headless StatefulSet pods, SRV, pod records and ExternalName, resolved by Wasm pods
 * (outgoing wasi:http by name, with the search path) and by a process in a client namespace whose
 * resolv.conf points at the cluster DNS. No query ever leaves the machine: "outside" names are
 * answered by the loopback resolver.
 * @module
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
// @ts-types="../node/dns/dns_packet.d.ts"
import packet from "dns-packet";
import { R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { ClusterRecords, DnsHandler, Forwarder } from "../node/dns/mod.ts";
import { DnsServer } from "../node/dns/server.ts";
import { pushFixture } from "./fixtures/push.ts";
import { eventually, testWith } from "./harness.ts";
import {
  NETWORK_PREREQUISITES,
  type NetworkCluster,
  readyPods,
  service,
  startNetworkCluster,
  wasmDeployment,
} from "./network_harness.ts";

// deno-lint-ignore no-explicit-any
type Msg = any;

/** One UDP query; resolves to the decoded answer (or rejects after `timeoutMs`). */
export function udpQuery(
  server: { ip: string; port: number },
  name: string,
  type = "A",
  opts: { timeoutMs?: number; edns?: boolean } = {},
): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 65535);
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no answer for ${name}`));
    }, opts.timeoutMs ?? 3000);
    sock.on("message", (m: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(packet.decode(m));
    });
    sock.send(
      packet.encode({
        type: "query",
        id,
        flags: packet.RECURSION_DESIRED,
        questions: [{ type, class: "IN", name }],
        ...(opts.edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096 }] } : {}),
      }),
      server.port,
      server.ip,
    );
  });
}

/** One TCP query. */
async function tcpQuery(server: { ip: string; port: number }, name: string, type = "A"): Promise<Msg> {
  const conn = await Deno.connect({ hostname: server.ip, port: server.port });
  try {
    await conn.write(
      new Uint8Array(packet.streamEncode({ type: "query", id: 9, questions: [{ type, class: "IN", name }] })),
    );
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) throw new Error("closed");
      const joined = new Uint8Array(buf.length + n);
      joined.set(buf);
      joined.set(chunk.subarray(0, n), buf.length);
      buf = joined;
      if (buf.length >= 2 && buf.length >= 2 + ((buf[0] << 8) | buf[1])) {
        return packet.streamDecode(Buffer.from(buf));
      }
    }
  } finally {
    conn.close();
  }
}

/** A resolver on loopback answering `*.outside.test` with `address`, and nothing else. */
async function fakeUpstream(address: string) {
  const sock = dgram.createSocket("udp4");
  let queries = 0;
  sock.on("message", (m: Buffer, r: { address: string; port: number }) => {
    queries++;
    const q = packet.decode(m);
    const name: string = q.questions[0].name;
    const hit = name.endsWith("outside.test") && q.questions[0].type === "A";
    sock.send(
      packet.encode({
        type: "response",
        id: q.id,
        flags: packet.RECURSION_AVAILABLE | (hit ? 0 : 3),
        questions: q.questions,
        answers: hit ? [{ type: "A", name, ttl: 30, class: "IN", data: address }] : [],
      }),
      r.port,
      r.address,
    );
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return {
    port: (sock.address() as { port: number }).port,
    get queries() {
      return queries;
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { metadata: { name, namespace: "default" }, spec };
}

Deno.test("the DNS server answers over UDP and TCP, truncates big UDP answers, forwards outside names, and fails cleanly", async () => {
  const records = new ClusterRecords();
  records.setService(
    svc("web", { clusterIP: "198.19.0.10", ports: [{ name: "http", port: 80, protocol: "TCP" }] }),
  );
  records.setService(svc("big", { clusterIP: "None", ports: [{ name: "http", port: 80, protocol: "TCP" }] }));
  records.setSlice({
    metadata: { name: "big-1", namespace: "default", labels: { "kubernetes.io/service-name": "big" } },
    addressType: "IPv4",
    endpoints: Array.from(
      { length: 60 },
      (_, i) => ({ addresses: [`198.18.1.${i + 1}`], conditions: { ready: true } }),
    ),
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
  });
  const upstream = await fakeUpstream("198.18.255.77");
  const forwarder = new Forwarder({ upstreams: [{ ip: "127.0.0.1", port: upstream.port }], timeoutMs: 500 });
  const server = await DnsServer.start({
    hostname: "127.0.0.1",
    port: 0,
    handler: new DnsHandler({ records, forwarder }),
  });
  const none = await DnsServer.start({
    hostname: "127.0.0.1",
    port: 0,
    handler: new DnsHandler({ records, forwarder: new Forwarder({ upstreams: [] }) }),
  });
  // An upstream that never answers: SERVFAIL after the timeout, not a hang.
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
  const mute = await DnsServer.start({
    hostname: "127.0.0.1",
    port: 0,
    handler: new DnsHandler({
      records,
      forwarder: new Forwarder({
        upstreams: [{ ip: "127.0.0.1", port: (silent.address() as { port: number }).port }],
        timeoutMs: 300,
      }),
    }),
  });
  try {
    const at = { ip: "127.0.0.1", port: server.port };
    const udp = await udpQuery(at, "web.default.svc.cluster.local");
    assert.equal(udp.rcode, "NOERROR");
    assert.ok(udp.flag_aa, "authoritative for the cluster zone");
    assert.deepEqual(udp.answers.map((a: Msg) => a.data), ["198.19.0.10"]);
    const tcp = await tcpQuery(at, "web.default.svc.cluster.local");
    assert.deepEqual(tcp.answers.map((a: Msg) => a.data), ["198.19.0.10"]);

    const truncated = await udpQuery(at, "big.default.svc.cluster.local");
    assert.ok(truncated.flag_tc, "60 addresses do not fit in 512 bytes");
    assert.equal(truncated.answers.length, 0);
    assert.equal(
      (await udpQuery(at, "big.default.svc.cluster.local", "A", { edns: true })).answers.length,
      60,
    );
    assert.equal((await tcpQuery(at, "big.default.svc.cluster.local")).answers.length, 60);

    const outside = await udpQuery(at, "www.outside.test");
    assert.equal(outside.rcode, "NOERROR");
    assert.deepEqual(outside.answers.map((a: Msg) => a.data), ["198.18.255.77"]);
    assert.equal(upstream.queries, 1);
    assert.equal(
      (await udpQuery(at, "nothing.test")).rcode,
      "NXDOMAIN",
      "the upstream's NXDOMAIN passes through",
    );

    const noUpstream = await udpQuery({ ip: "127.0.0.1", port: none.port }, "www.outside.test");
    assert.equal(noUpstream.rcode, "SERVFAIL");
    assert.deepEqual(
      (await udpQuery({ ip: "127.0.0.1", port: none.port }, "web.default.svc.cluster.local")).answers
        .length,
      1,
      "the cluster zone works without an upstream",
    );
    const t0 = performance.now();
    assert.equal(
      (await udpQuery({ ip: "127.0.0.1", port: mute.port }, "www.outside.test")).rcode,
      "SERVFAIL",
    );
    assert.ok(performance.now() - t0 < 2500, "a silent upstream fails after its timeout");
  } finally {
    await server.close();
    await none.close();
    await mute.close();
    await new Promise<void>((r) => silent.close(() => r()));
    await upstream.close();
  }
});

/** Deterministic pseudo-random bytes (a seeded xorshift), so a failing storm can be replayed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

Deno.test("a fuzzed packet storm gets FORMERR or nothing, never a crash, and the server keeps answering", async () => {
  const records = new ClusterRecords();
  records.setService(
    svc("web", { clusterIP: "198.19.0.10", ports: [{ name: "http", port: 80, protocol: "TCP" }] }),
  );
  const handler = new DnsHandler({ records, forwarder: new Forwarder({ upstreams: [] }) });
  const server = await DnsServer.start({ hostname: "127.0.0.1", port: 0, handler });
  const at = { ip: "127.0.0.1", port: server.port };
  const seed = Date.now() & 0xffff;
  const rand = rng(seed);
  const valid = new Uint8Array(packet.encode({
    type: "query",
    id: 1,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type: "SRV", class: "IN", name: "_http._tcp.web.default.svc.cluster.local" }],
  }));
  const sock = dgram.createSocket("udp4");
  let answers = 0;
  let formerr = 0;
  sock.on("message", (m: Buffer) => {
    answers++;
    if ((m[3] & 0x0f) === 1) formerr++;
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const kinds = [
    // random bytes of random length
    () => Uint8Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)),
    // a valid query with random bit flips
    () => {
      const b = valid.slice();
      for (let i = 0; i < 1 + rand() * 6; i++) {
        b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
      }
      b[2] &= 0x7f; // keep it a query
      return b;
    },
    // a truncated valid query
    () => valid.slice(0, Math.floor(rand() * valid.length)),
    // a header claiming 65535 questions
    () => {
      const b = valid.slice();
      b[4] = 0xff;
      b[5] = 0xff;
      return b;
    },
    // a compression pointer to itself
    () => Uint8Array.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]),
    // a non-QUERY opcode (NOTIMP) and a response (ignored)
    () => {
      const b = valid.slice();
      b[2] = rand() < 0.5 ? 0x28 : 0x80;
      return b;
    },
  ];
  try {
    const total = 6000;
    for (let i = 0; i < total; i++) {
      const b = kinds[i % kinds.length]();
      sock.send(Buffer.from(b), at.port, at.ip);
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5)); // bounded rate
    }
    // Garbage over TCP too: a frame longer than the data, then a frame of junk.
    const conn = await Deno.connect({ hostname: at.ip, port: at.port });
    await conn.write(
      Uint8Array.from([
        0x00,
        0x20,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        20,
        21,
        22,
        23,
        24,
        25,
        26,
        27,
        28,
        29,
        30,
        31,
        32,
        0xff,
        0xff,
        0xde,
        0xad,
      ]),
    );
    conn.close();
    // UDP may drop some of the storm in the socket buffer: wait until the server has drained it.
    let last = -1;
    await eventually("the storm to be drained", async () => {
      await new Promise((r) => setTimeout(r, 300));
      const done = handler.stats.queries === last;
      last = handler.stats.queries;
      return done;
    }, 30_000);
    assert.ok(handler.stats.queries > total / 4, `most of the storm arrived (${handler.stats.queries})`);
    const ok = await udpQuery(at, "_http._tcp.web.default.svc.cluster.local", "SRV");
    assert.equal(ok.rcode, "NOERROR", `seed ${seed}`);
    assert.equal(ok.answers[0].data.port, 80);
    assert.ok(
      formerr > 500,
      `malformed queries get FORMERR (${formerr} of ${answers} answers, seed ${seed})`,
    );
    assert.ok(handler.stats.formerr >= formerr);
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// On a node

const test = (name: string, fn: () => Promise<void>) => testWith(NETWORK_PREREQUISITES, name, fn);

async function apply(c: NetworkCluster, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
  assert.equal(r.code, 0, r.stderr);
}

test("Wasm pods and client processes resolve Services, headless StatefulSet pods, SRV, pods and ExternalName", async () => {
  const outside = await fakeUpstream("198.18.255.77");
  try {
    await using c = await startNetworkCluster({
      network: { dns: { upstreams: [{ ip: "127.0.0.1", port: outside.port }] } },
    });
    const dns = { ip: c.gateway, port: 53 };
    const image = (await pushFixture(c.registry.host, "http_sm")).reference;
    const sts: KubeObject = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "default" },
      spec: {
        serviceName: "db",
        replicas: 2,
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: {
            runtimeClassName: "wasm",
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "db", image, ports: [{ name: "pg", containerPort: 8080 }] }],
          },
        },
      },
    };
    await apply(
      c,
      wasmDeployment("backend", image, { replicas: 2, greeting: "backend" }),
      service("backend", {
        selector: { app: "backend" },
        ports: [{ name: "http", port: 80, targetPort: "http" }],
      }),
      wasmDeployment("frontend", image, { greeting: "frontend" }),
      service("db", {
        clusterIP: "None",
        selector: { app: "db" },
        ports: [{ name: "pg", port: 5432, targetPort: "pg" }],
      }),
      sts,
      service("alias", { type: "ExternalName", externalName: "backend.default.svc.cluster.local" }),
      service("away", { type: "ExternalName", externalName: "www.outside.test" }),
    );
    for (const d of ["deployment/backend", "deployment/frontend", "statefulset/db"]) {
      const r = await c.kubectl(["rollout", "status", d, "--timeout=120s"], undefined, 130_000);
      assert.equal(r.code, 0, r.stderr + r.stdout);
    }
    const vip = (await c.client.get(R.services, "default", "backend")).spec.clusterIP;
    const a = await udpQuery(dns, "backend.default.svc.cluster.local");
    assert.deepEqual(a.answers.map((x: Msg) => x.data), [vip]);
    const dbPods = await readyPods(c, "app=db");
    const db0 = dbPods.find((p) => p.metadata.name === "db-0")!;
    await eventually("db-0 under its headless service", async () => {
      const r = await udpQuery(dns, "db-0.db.default.svc.cluster.local");
      return r.answers[0]?.data === db0.status.podIP;
    });
    const headless = await udpQuery(dns, "db.default.svc.cluster.local");
    assert.deepEqual(
      headless.answers.map((x: Msg) => x.data).sort(),
      dbPods.map((p) => p.status.podIP).sort(),
    );
    const srv = await udpQuery(dns, "_pg._tcp.db.default.svc.cluster.local", "SRV");
    assert.deepEqual(srv.answers.map((x: Msg) => x.data.target).sort(), [
      "db-0.db.default.svc.cluster.local",
      "db-1.db.default.svc.cluster.local",
    ]);
    assert.ok(srv.answers.every((x: Msg) => x.data.port === 8080));
    const dashed = db0.status.podIP.replaceAll(".", "-");
    assert.deepEqual(
      (await udpQuery(dns, `${dashed}.default.pod.cluster.local`)).answers.map((x: Msg) => x.data),
      [
        db0.status.podIP,
      ],
    );
    const cname = await udpQuery(dns, "alias.default.svc.cluster.local");
    assert.deepEqual(cname.answers.map((x: Msg) => [x.type, x.data]), [
      ["CNAME", "backend.default.svc.cluster.local"],
      ["A", vip],
    ]);

    // A Wasm pod calls the backend by its full name, by its short name (the search path), through
    // the ExternalName alias, and an outside name answered by the node's (loopback) resolver.
    const [frontend] = await readyPods(c, "app=frontend");
    const client = await c.clientPod();
    const viaFrontend = (url: string) =>
      client.curl(`http://${frontend.status.podIP}:8080/fetch?url=${encodeURIComponent(url)}`, [], 8);
    assert.deepEqual(await viaFrontend("http://backend.default.svc.cluster.local/"), {
      code: 200,
      body: "hello from backend\n",
    });
    assert.deepEqual(await viaFrontend("http://backend/"), { code: 200, body: "hello from backend\n" });
    assert.deepEqual(await viaFrontend("http://alias/"), { code: 200, body: "hello from backend\n" });
    const bad = await viaFrontend("http://nope.default.svc.cluster.local/");
    assert.equal(bad.code, 502);
    assert.match(bad.body, /DNS-error/);

    // A process with the cluster DNS in its resolv.conf (what a container gets) reaches the Wasm
    // Service by name; an outside name goes to the node's resolver.
    assert.deepEqual(await client.curl("http://backend.default.svc.cluster.local/"), {
      code: 200,
      body: "hello from backend\n",
    });
    assert.equal((await client.curl("http://backend/")).code, 200, "short names use the search path");
    const before = outside.queries;
    const away = await udpQuery(dns, "away.default.svc.cluster.local");
    assert.deepEqual(away.answers.map((x: Msg) => [x.type, x.data]), [
      ["CNAME", "www.outside.test"],
      ["A", "198.18.255.77"],
    ]);
    assert.ok(outside.queries > before, "the ExternalName target was resolved upstream");

    // Records follow the API at once: a new Service resolves, a deleted one stops resolving.
    await c.client.create(R.services, service("late", { ports: [{ port: 80 }] }));
    await eventually(
      "the new service to resolve",
      async () => (await udpQuery(dns, "late.default.svc.cluster.local")).answers.length === 1,
      10_000,
    );
    await c.client.delete(R.services, "default", "late");
    await eventually(
      "the deleted service to be NXDOMAIN",
      async () => (await udpQuery(dns, "late.default.svc.cluster.local")).rcode === "NXDOMAIN",
      10_000,
    );
  } finally {
    await outside.close();
  }
});

test("without an upstream resolver, outside names fail cleanly (SERVFAIL) while the cluster zone keeps working", async () => {
  await using c = await startNetworkCluster({
    network: { dns: { upstreams: [] } },
    controllers: ["node-ipam-controller"],
  });
  const dns = { ip: c.gateway, port: 53 };
  assert.equal((await udpQuery(dns, "www.outside.test")).rcode, "SERVFAIL");
  assert.equal((await udpQuery(dns, "kubernetes.default.svc.cluster.local")).answers[0].data, "198.19.0.1");
  const tcp = await tcpQuery(dns, "kubernetes.default.svc.cluster.local");
  assert.equal(tcp.answers[0].data, "198.19.0.1");
});
