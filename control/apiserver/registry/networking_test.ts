import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import {
  defaultIngressClass,
  defaultNetworkPolicy,
  ingressClasses,
  ingresses,
  networkPolicies,
  validateIngress,
  validateIngressClass,
  validateNetworkPolicy,
} from "./networking.ts";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const meta = (name: string, namespace?: string) => ({
  name,
  ...(namespace ? { namespace } : {}),
  creationTimestamp: "2024-05-01T11:00:00Z",
});
const messages = (errs: { field?: string; message?: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);

const backend = (name = "web", number = 80) => ({ service: { name, port: { number } } });

Deno.test("defaultNetworkPolicy() implies Ingress, adds Egress with egress rules, and TCP ports", () => {
  const a: KubeObject = { metadata: meta("a", "default"), spec: { podSelector: {} } };
  defaultNetworkPolicy(a);
  assert.deepEqual(a.spec.policyTypes, ["Ingress"]);
  const b: KubeObject = {
    metadata: meta("b", "default"),
    spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }], ingress: [{ ports: [{ port: "http" }] }] },
  };
  defaultNetworkPolicy(b);
  assert.deepEqual(b.spec.policyTypes, ["Ingress", "Egress"]);
  assert.equal(b.spec.egress[0].ports[0].protocol, "TCP");
  assert.equal(b.spec.ingress[0].ports[0].protocol, "TCP");
  const c: KubeObject = { metadata: meta("c", "default"), spec: { policyTypes: ["Egress"] } };
  defaultNetworkPolicy(c);
  assert.deepEqual(c.spec.policyTypes, ["Egress"], "explicit types are kept");
  assert.deepEqual(c.spec.podSelector, {});
});

Deno.test("validateNetworkPolicy() reports upstream's errors for ports, peers, ipBlocks and types", () => {
  const np: KubeObject = {
    metadata: meta("np", "default"),
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [{
        from: [
          {},
          { ipBlock: { cidr: "198.18.0.0/16", except: ["198.19.0.0/24", "198.18.1.0/24"] }, podSelector: {} },
          { ipBlock: { cidr: "nope" } },
        ],
        ports: [{ port: 70000 }, { port: "http", endPort: 90 }, { endPort: 3 }, { port: 80, endPort: 79 }],
      }],
      egress: [{ ports: [{ protocol: "ICMP", port: 1 }] }],
      policyTypes: ["Ingress", "Sideways"],
    },
  };
  assert.deepEqual(messages(validateNetworkPolicy(np)), [
    "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    'spec.ingress[0].ports[1].endPort: Invalid value: 90: may not be specified when `port` is non-numeric',
    "spec.ingress[0].ports[2].endPort: Invalid value: 3: may not be specified when `port` is not specified",
    "spec.ingress[0].ports[3].endPort: Invalid value: 79: must be greater than or equal to `port`",
    "spec.ingress[0].from[0]: Required value: must specify a peer",
    'spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "198.19.0.0/24": must be a strict subset of `cidr`',
    "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
    'spec.ingress[0].from[2].ipBlock.cidr: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    'spec.egress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
    'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
  ]);
  const ok: KubeObject = {
    metadata: meta("deny", "default"),
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
  assert.deepEqual(validateNetworkPolicy(ok), []);
});

Deno.test("validateIngress() checks paths, hosts, backends, TLS and the class annotation", () => {
  const ing: KubeObject = {
    metadata: { ...meta("web", "default"), annotations: { "kubernetes.io/ingress.class": "other" } },
    spec: {
      ingressClassName: "skiff",
      rules: [
        {
          host: "198.18.0.1",
          http: {
            paths: [
              { path: "relative", pathType: "Prefix", backend: backend() },
              { path: "/a//b", pathType: "Exact", backend: backend() },
              { path: "/x/..", pathType: "Prefix", backend: backend() },
              { path: "/y", backend: backend() },
              { path: "/z", pathType: "Regex", backend: backend() },
              { path: "/p", pathType: "Prefix", backend: { service: { name: "Web", port: {} } } },
            ],
          },
        },
        { host: "*.example.com", http: { paths: [] } },
        { host: "a.*.com" },
      ],
      tls: [{ hosts: ["*.example.com"], secretName: "Bad_Name" }],
    },
  };
  const got = messages(validateIngress(ing));
  assert.deepEqual(got, [
    'spec.rules[0].host: Invalid value: "198.18.0.1": must be a DNS name, not an IP address',
    'spec.rules[0].http.paths[0].path: Invalid value: "relative": must be an absolute path',
    "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b\": must not contain '//'",
    "spec.rules[0].http.paths[2].path: Invalid value: \"/x/..\": cannot end with '/..'",
    "spec.rules[0].http.paths[3].pathType: Required value: pathType must be specified",
    'spec.rules[0].http.paths[4].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
    got[6],
    "spec.rules[0].http.paths[5].backend: Required value: port name or number is required",
    "spec.rules[1].http.paths: Required value",
    got[9],
    got[10],
    "annotations.kubernetes.io/ingress.class: Invalid value: \"other\": must match `ingressClassName` when both are specified",
  ]);
  assert.match(got[6], /^spec\.rules\[0\]\.http\.paths\[5\]\.backend\.service\.name: Invalid value: "Web": a DNS-1035 label/);
  assert.match(got[9], /^spec\.rules\[2\]\.host: Invalid value: "a\.\*\.com": a wildcard DNS-1123 subdomain/);
  assert.match(got[10], /^spec\.tls\[0\]\.secretName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  assert.deepEqual(messages(validateIngress({ metadata: meta("e", "default"), spec: {} })), [
    "spec: Invalid value: []: either `defaultBackend` or `rules` must be specified",
  ]);
  const good: KubeObject = {
    metadata: meta("good", "default"),
    spec: {
      defaultBackend: { service: { name: "fallback", port: { name: "http" } } },
      rules: [{ host: "a.test", http: { paths: [{ path: "/", pathType: "ImplementationSpecific", backend: backend() }] } }],
    },
    status: { loadBalancer: { ingress: [{ ip: "127.0.0.1", ports: [{ port: 80, protocol: "TCP" }] }] } },
  };
  assert.deepEqual(validateIngress(good), []);
});

Deno.test("validateIngressClass() wants a domain-prefixed controller that never changes, and scoped parameters", () => {
  const cls: KubeObject = {
    metadata: meta("skiff"),
    spec: { controller: "skiff.dev/ingress", parameters: { kind: "Config", name: "c" } },
  };
  defaultIngressClass(cls);
  assert.equal(cls.spec.parameters.scope, "Cluster");
  assert.deepEqual(validateIngressClass(cls), []);
  const bad: KubeObject = { metadata: meta("x"), spec: { controller: "nodomain", parameters: { kind: "a/b", scope: "Namespace" } } };
  assert.deepEqual(messages(validateIngressClass(bad)), [
    'spec.controller: Invalid value: "nodomain": must be a domain-prefixed path (such as "acme.io/foo")',
    "spec.parameters.kind: Invalid value: \"a/b\": may not contain '/'",
    "spec.parameters.name: Required value",
    "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
  ]);
  const changed = structuredClone(cls);
  changed.spec.controller = "example.com/other";
  assert.deepEqual(messages(validateIngressClass(changed, cls)), [
    'spec.controller: Invalid value: "example.com/other": field is immutable',
  ]);
});

Deno.test("the kubectl tables print as upstream's printers do", () => {
  const ing: KubeObject = {
    metadata: meta("web", "default"),
    spec: {
      ingressClassName: "skiff",
      rules: [{ host: "a.test" }, { host: "b.test" }, {}, { host: "c.test" }, { host: "d.test" }],
      tls: [{ hosts: ["a.test"], secretName: "t" }],
    },
    status: { loadBalancer: { ingress: [{ ip: "127.0.0.1" }, { hostname: "node-1.example.com" }] } },
  };
  assert.deepEqual(ingresses.table!.cells(ing, NOW), [
    "web",
    "skiff",
    "a.test,b.test,c.test + 2 more...",
    "127.0.0.1,nod...",
    "80, 443",
    "60m",
  ]);
  assert.deepEqual(ingresses.table!.cells({ metadata: meta("x", "default"), spec: {} }, NOW).slice(1, 5), [
    "<none>",
    "*",
    "",
    "80",
  ]);
  const cls: KubeObject = {
    metadata: meta("skiff"),
    spec: { controller: "skiff.dev/ingress", parameters: { apiGroup: "k8s.example.com", kind: "Params", name: "p" } },
  };
  assert.deepEqual(ingressClasses.table!.cells(cls, NOW), [
    "skiff",
    "skiff.dev/ingress",
    "Params.k8s.example.com/p",
    "60m",
  ]);
  const np: KubeObject = { metadata: meta("np", "default"), spec: { podSelector: { matchLabels: { app: "web" } } } };
  assert.deepEqual(networkPolicies.table!.cells(np, NOW), ["np", "app=web", "60m"]);
  assert.deepEqual(networkPolicies.table!.cells({ metadata: meta("all", "default"), spec: {} }, NOW), [
    "all",
    "<none>",
    "60m",
  ]);
});
