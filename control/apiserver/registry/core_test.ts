import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { namespaces, nodes } from "./core_cluster.ts";
import { configMaps, secrets } from "./core_config.ts";
import { endpoints } from "./core_endpoints.ts";
import { coreEvents } from "./core_events.ts";
import { services } from "./core_service.ts";
import { persistentVolumeClaims } from "./core_storage.ts";
import { eventsV1 } from "./events.ts";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const create = { operation: "CREATE" as const };
const update = { operation: "UPDATE" as const };
const messages = (errs: { field?: string; message?: string }[]) =>
  errs.map((c) => `${c.field}: ${c.message}`);

function service(spec: Record<string, unknown>, name = "web"): KubeObject {
  return { metadata: { name, namespace: "default" }, spec };
}

Deno.test("services.defaults() applies the Service defaults and leaves clusterIP to the allocator", () => {
  const s = service({ selector: { app: "web" }, ports: [{ port: 80 }] });
  services.defaults!(s, create);
  assert.deepEqual(s.spec, {
    selector: { app: "web" },
    ports: [{ port: 80, protocol: "TCP", targetPort: 80 }],
    sessionAffinity: "None",
    type: "ClusterIP",
    internalTrafficPolicy: "Cluster",
    ipFamilyPolicy: "SingleStack",
    ipFamilies: ["IPv4"],
  });
  assert.deepEqual(s.status, { loadBalancer: {} });
  assert.deepEqual(services.validate!(s), []);
});

Deno.test("services.defaults() sets externalTrafficPolicy for NodePort services", () => {
  const s = service({ type: "NodePort", ports: [{ port: 80, targetPort: "http" }] });
  services.defaults!(s, create);
  assert.equal(s.spec.externalTrafficPolicy, "Cluster");
  assert.equal(s.spec.ports[0].targetPort, "http");
});

Deno.test("services.validate() uses DNS-1035 names and requires ports", () => {
  const s = service({}, "1web");
  services.defaults!(s, create);
  const errs = messages(services.validate!(s));
  assert.equal(errs.length, 2);
  assert.match(errs[0], /^metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of/);
  assert.equal(errs[1], "spec.ports: Required value");
});

Deno.test("services.validate() lets headless and ExternalName services omit ports", () => {
  const headless = service({ clusterIP: "None" });
  services.defaults!(headless, create);
  assert.deepEqual(services.validate!(headless), []);
  const ext = service({ type: "ExternalName", externalName: "example.com" });
  services.defaults!(ext, create);
  assert.deepEqual(services.validate!(ext), []);
});

Deno.test("services.validate() rejects duplicate port names and unknown types", () => {
  const s = service({ type: "Magic", ports: [{ name: "http", port: 80 }, { name: "http", port: 81 }] });
  services.defaults!(s, create);
  assert.deepEqual(messages(services.validate!(s)), [
    'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    'spec.ports[1].name: Duplicate value: "http"',
  ]);
});

Deno.test("services.validate() keeps the cluster IP once set", () => {
  const old = service({ ports: [{ port: 80 }], clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"] });
  services.defaults!(old, create);
  const next = structuredClone(old);
  next.spec.clusterIP = "10.96.0.11";
  next.spec.clusterIPs = ["10.96.0.11"];
  assert.deepEqual(messages(services.validate!(next, old)), [
    'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set',
  ]);
});

Deno.test("services.table renders TYPE CLUSTER-IP EXTERNAL-IP PORT(S)", () => {
  const s = service({
    type: "NodePort",
    clusterIPs: ["10.96.0.5"],
    ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
    selector: { app: "web" },
  });
  s.metadata.creationTimestamp = new Date(NOW - 30_000).toISOString();
  assert.deepEqual(services.table!.cells(s, NOW), [
    "web",
    "NodePort",
    "10.96.0.5",
    "<none>",
    "80:30080/TCP",
    "30s",
    "app=web",
  ]);
  const lb = service({ type: "LoadBalancer", clusterIP: "10.96.0.6", ports: [] });
  assert.equal(services.table!.cells(lb, NOW)[3], "<pending>");
  assert.equal(services.table!.cells(lb, NOW)[4], "<none>");
});

Deno.test("configMaps.validate() checks keys, the 1 MiB limit and immutability", () => {
  const cm: KubeObject = { metadata: { name: "cfg", namespace: "default" }, data: { "bad/key": "x" } };
  assert.deepEqual(messages(configMaps.validate!(cm)), [
    `data[bad/key]: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  ]);
  const big: KubeObject = {
    metadata: { name: "cfg", namespace: "default" },
    data: { a: "x".repeat(1024 * 1024 + 1) },
  };
  assert.deepEqual(messages(configMaps.validate!(big)), [": Too long: may not be more than 1048576 bytes"]);
  const old: KubeObject = {
    metadata: { name: "cfg", namespace: "default" },
    immutable: true,
    data: { a: "1" },
  };
  const next = { ...old, data: { a: "2" } };
  assert.deepEqual(messages(configMaps.validate!(next, old)), [
    "data: Forbidden: field is immutable when `immutable` is set",
  ]);
});

Deno.test("secrets.defaults() folds stringData into base64 data and defaults the type", () => {
  const s: KubeObject = { metadata: { name: "s", namespace: "default" }, stringData: { password: "héllo" } };
  secrets.defaults!(s, create);
  assert.equal(s.type, "Opaque");
  assert.equal(s.stringData, undefined);
  assert.equal(s.data.password, "aMOpbGxv");
  assert.deepEqual(secrets.validate!(s), []);
  assert.deepEqual(secrets.fields!(s), { type: "Opaque" });
});

Deno.test("secrets.validate() enforces type-specific keys and an immutable type", () => {
  const tls: KubeObject = {
    metadata: { name: "s", namespace: "default" },
    type: "kubernetes.io/tls",
    data: {},
  };
  assert.deepEqual(messages(secrets.validate!(tls)), [
    "data[tls.crt]: Required value",
    "data[tls.key]: Required value",
  ]);
  const old: KubeObject = { metadata: { name: "s", namespace: "default" }, type: "Opaque" };
  const next = { ...old, type: "kubernetes.io/basic-auth", data: { username: "YQ==" } };
  assert.deepEqual(messages(secrets.validate!(next, old)), [
    'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
  ]);
});

Deno.test("namespaces.defaults() adds the name label, the kubernetes finalizer and Active phase", () => {
  const ns: KubeObject = { metadata: { name: "team-a" } };
  namespaces.defaults!(ns, create);
  assert.deepEqual(ns.metadata.labels, { "kubernetes.io/metadata.name": "team-a" });
  assert.deepEqual(ns.spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(ns.status, { phase: "Active" });
  assert.deepEqual(namespaces.validate!(ns), []);
  assert.deepEqual(namespaces.fields!(ns), { "status.phase": "Active" });
  const bad: KubeObject = { metadata: { name: "team.a" } };
  namespaces.defaults!(bad, update);
  assert.match(
    messages(namespaces.validate!(bad))[0],
    /^metadata\.name: Invalid value: "team\.a": a lowercase RFC 1123 label/,
  );
});

Deno.test("nodes.table shows Ready, roles and SchedulingDisabled", () => {
  const node: KubeObject = {
    metadata: {
      name: "n1",
      labels: { "node-role.kubernetes.io/control-plane": "" },
      creationTimestamp: new Date(NOW - 86_400_000 * 3).toISOString(),
    },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      nodeInfo: { kubeletVersion: "v1.32.0-skiff" },
      addresses: [{ type: "InternalIP", address: "192.168.1.10" }],
    },
  };
  assert.deepEqual(nodes.table!.cells(node, NOW), [
    "n1",
    "Ready,SchedulingDisabled",
    "control-plane",
    "3d",
    "v1.32.0-skiff",
    "192.168.1.10",
    "<none>",
    "<unknown>",
    "<unknown>",
    "<unknown>",
  ]);
  assert.deepEqual(nodes.fields!(node), { "spec.unschedulable": "true" });
});

Deno.test("persistentVolumeClaims default and require a storage request", () => {
  const pvc: KubeObject = {
    metadata: { name: "data", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"] },
  };
  persistentVolumeClaims.defaults!(pvc, create);
  assert.equal(pvc.spec.volumeMode, "Filesystem");
  assert.equal(pvc.status.phase, "Pending");
  assert.deepEqual(messages(persistentVolumeClaims.validate!(pvc)), [
    "spec.resources[storage]: Required value",
  ]);
});

Deno.test("endpoints.table lists at most three endpoints", () => {
  const ep: KubeObject = {
    metadata: { name: "web" },
    subsets: [{
      addresses: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"].map((ip) => ({ ip })),
      ports: [{ port: 80 }],
    }],
  };
  assert.equal(endpoints.table!.cells(ep, NOW)[1], "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...");
});

Deno.test("event tables show LAST SEEN TYPE REASON OBJECT MESSAGE for both event APIs", () => {
  const core: KubeObject = {
    metadata: { name: "web.1", namespace: "default" },
    involvedObject: { kind: "Pod", name: "web", namespace: "default" },
    reason: "Pulled",
    message: "Pulled image \n",
    type: "Normal",
    source: { component: "kubelet", host: "n1" },
    firstTimestamp: new Date(NOW - 600_000).toISOString(),
    lastTimestamp: new Date(NOW - 60_000).toISOString(),
    count: 2,
  };
  assert.deepEqual(coreEvents.table!.columns.filter((c) => !c.priority).map((c) => c.name), [
    "Last Seen",
    "Type",
    "Reason",
    "Object",
    "Message",
  ]);
  assert.deepEqual(coreEvents.table!.cells(core, NOW), [
    "60s",
    "Normal",
    "Pulled",
    "pod/web",
    "",
    "kubelet, n1",
    "Pulled image",
    "10m",
    2,
    "web.1",
  ]);
  assert.deepEqual(coreEvents.validate!(core), []);
  assert.equal(coreEvents.fields!(core)["involvedObject.name"], "web");
  const v1: KubeObject = {
    metadata: { name: "web.2", namespace: "default" },
    regarding: { kind: "Pod", name: "web", namespace: "default" },
    reason: "Scheduled",
    note: "assigned",
    type: "Normal",
    action: "Binding",
    reportingController: "default-scheduler",
    reportingInstance: "skiff",
    eventTime: new Date(NOW - 5_000).toISOString(),
  };
  assert.deepEqual(eventsV1.table!.cells(v1, NOW), [
    "5s",
    "Normal",
    "Scheduled",
    "pod/web",
    "",
    "default-scheduler, skiff",
    "assigned",
    "5s",
    1,
    "web.2",
  ]);
  assert.deepEqual(eventsV1.validate!(v1), []);
  assert.deepEqual(messages(eventsV1.validate!({ ...v1, type: "Odd" })), [
    'type: Invalid value: "": has invalid value: Odd',
  ]);
});
