import assert from "node:assert/strict";
import type { KubeObject } from "../../control/api/types.ts";
import { ClusterRecords } from "./records.ts";

function svc(name: string, spec: Record<string, unknown>, ns = "default"): KubeObject {
  return { metadata: { name, namespace: ns }, spec };
}

function slice(
  name: string,
  service: string,
  endpoints: { ip: string; ready?: boolean; hostname?: string }[],
  ports: { name: string; port: number; protocol?: string }[] = [],
  ns = "default",
): KubeObject {
  return {
    metadata: { name, namespace: ns, labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
    ports: ports.map((p) => ({ protocol: "TCP", ...p })),
  };
}

const data = (l: { answers: { data: unknown }[] }) => l.answers.map((a) => a.data);

function cluster(): ClusterRecords {
  const r = new ClusterRecords();
  r.setService(svc("web", { clusterIP: "198.19.0.10", ports: [{ name: "http", port: 80, protocol: "TCP" }] }));
  r.setService(svc("db", { clusterIP: "None", ports: [{ name: "pg", port: 5432, protocol: "TCP" }] }));
  r.setService(svc("ext", { type: "ExternalName", externalName: "example.test" }));
  r.setService(svc("alias", { type: "ExternalName", externalName: "web.default.svc.cluster.local" }));
  r.setSlice(slice("db-1", "db", [
    { ip: "198.18.0.5", hostname: "db-0" },
    { ip: "198.18.0.6", hostname: "db-1" },
    { ip: "198.18.0.7", ready: false, hostname: "db-2" },
  ], [{ name: "pg", port: 5432 }]));
  r.setSlice(slice("db-2", "db", [{ ip: "198.18.0.8" }], [{ name: "pg", port: 5432 }]));
  return r;
}

Deno.test("a ClusterIP Service resolves to its cluster IP, case-insensitively, keeping the question's spelling", () => {
  const r = cluster();
  const l = r.lookup("Web.Default.svc.cluster.local", "A");
  assert.equal(l.rcode, "NOERROR");
  assert.deepEqual(data(l), ["198.19.0.10"]);
  assert.equal(l.answers[0].name, "Web.Default.svc.cluster.local");
  assert.equal(l.answers[0].ttl, 5);
  const aaaa = r.lookup("web.default.svc.cluster.local", "AAAA");
  assert.equal(aaaa.rcode, "NOERROR", "the name exists: NODATA, not NXDOMAIN");
  assert.equal(aaaa.answers.length, 0);
  assert.equal(aaaa.authorities[0].type, "SOA");
  assert.equal(r.lookup("nope.default.svc.cluster.local", "A").rcode, "NXDOMAIN");
});

Deno.test("a headless Service resolves to its ready endpoints, and each endpoint by hostname or dashed IP", () => {
  const r = cluster();
  assert.deepEqual(data(r.lookup("db.default.svc.cluster.local", "A")).sort(), [
    "198.18.0.5",
    "198.18.0.6",
    "198.18.0.8",
  ]);
  assert.deepEqual(data(r.lookup("db-0.db.default.svc.cluster.local", "A")), ["198.18.0.5"]);
  assert.deepEqual(data(r.lookup("198-18-0-8.db.default.svc.cluster.local", "A")), ["198.18.0.8"]);
  assert.equal(r.lookup("db-2.db.default.svc.cluster.local", "A").rcode, "NXDOMAIN", "not ready: not published");
});

Deno.test("SRV records name the port: the service for ClusterIP, each endpoint for headless", () => {
  const r = cluster();
  const web = r.lookup("_http._tcp.web.default.svc.cluster.local", "SRV");
  assert.deepEqual(data(web), [{ priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" }]);
  assert.deepEqual(data(web as never).length, 1);
  assert.deepEqual(web.additionals.map((a) => a.data), ["198.19.0.10"]);
  const db = r.lookup("_pg._tcp.db.default.svc.cluster.local", "SRV");
  assert.deepEqual(db.answers.map((a) => a.data.target).sort(), [
    "198-18-0-8.db.default.svc.cluster.local",
    "db-0.db.default.svc.cluster.local",
    "db-1.db.default.svc.cluster.local",
  ]);
  assert.ok(db.answers.every((a) => a.data.port === 5432 && a.data.weight === 33));
  assert.equal(db.additionals.length, 3);
  assert.equal(r.lookup("_nope._tcp.web.default.svc.cluster.local", "SRV").rcode, "NXDOMAIN");
  assert.equal(r.lookup("_http._udp.web.default.svc.cluster.local", "SRV").rcode, "NXDOMAIN");
  const noData = r.lookup("_http._tcp.web.default.svc.cluster.local", "A");
  assert.equal(noData.rcode, "NOERROR");
  assert.equal(noData.answers.length, 0);
  assert.equal(data(r.lookup("web.default.svc.cluster.local", "SRV")).length, 1, "SRV at the service name");
});

Deno.test("ExternalName is a CNAME; an in-cluster target is followed, an outside one left to chase", () => {
  const r = cluster();
  const ext = r.lookup("ext.default.svc.cluster.local", "A");
  assert.deepEqual(ext.answers.map((a) => [a.type, a.data]), [["CNAME", "example.test"]]);
  assert.equal(ext.chase, "example.test");
  const alias = r.lookup("alias.default.svc.cluster.local", "A");
  assert.deepEqual(alias.answers.map((a) => [a.type, a.data]), [
    ["CNAME", "web.default.svc.cluster.local"],
    ["A", "198.19.0.10"],
  ]);
  assert.equal(alias.chase, undefined);
});

Deno.test("pod records answer a-b-c-d.<ns>.pod names; the version record; names outside are not ours", () => {
  const r = cluster();
  assert.deepEqual(data(r.lookup("198-18-0-9.default.pod.cluster.local", "A")), ["198.18.0.9"]);
  assert.equal(r.lookup("1-2-3.default.pod.cluster.local", "A").rcode, "NXDOMAIN");
  assert.deepEqual(data(r.lookup("dns-version.cluster.local", "TXT")), [["1.1.0"]]);
  assert.equal(r.lookup("example.test", "A").rcode, undefined);
  assert.equal(r.lookup("cluster.local", "SOA").answers[0].type, "SOA");
  assert.equal(r.lookup("default.svc.cluster.local", "A").rcode, "NOERROR");
  assert.equal(r.lookup("nons.svc.cluster.local", "A").rcode, "NXDOMAIN");
});

Deno.test("PTR answers cluster IPs and headless endpoints; unknown cluster addresses are NXDOMAIN", () => {
  const r = cluster();
  assert.deepEqual(data(r.lookup("10.0.19.198.in-addr.arpa", "PTR")), ["web.default.svc.cluster.local"]);
  assert.deepEqual(data(r.lookup("5.0.18.198.in-addr.arpa", "PTR")), ["db-0.db.default.svc.cluster.local"]);
  assert.equal(r.lookup("77.0.19.198.in-addr.arpa", "PTR").rcode, "NXDOMAIN");
  assert.equal(r.lookup("1.2.0.192.in-addr.arpa", "PTR").rcode, undefined, "forwarded");
});

Deno.test("updates apply at once: deleting a slice or a service removes its records", () => {
  const r = cluster();
  const before = r.serial;
  r.deleteSlice(slice("db-2", "db", []));
  assert.deepEqual(data(r.lookup("db.default.svc.cluster.local", "A")).sort(), ["198.18.0.5", "198.18.0.6"]);
  r.setSlice(slice("db-1", "db", [{ ip: "198.18.0.5", hostname: "db-0", ready: false }]));
  assert.equal(r.lookup("db-0.db.default.svc.cluster.local", "A").rcode, "NXDOMAIN");
  r.deleteService(svc("web", {}));
  assert.equal(r.lookup("web.default.svc.cluster.local", "A").rcode, "NXDOMAIN");
  assert.ok(r.serial > before);
});
