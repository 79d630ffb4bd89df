import assert from "node:assert/strict";
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { candidateNames, parseResolvConf, podDnsConfig, resolvConf } from "./pod_dns.ts";

const HOST = "# the node's\nsearch corp.test lab.test\nnameserver 127.0.0.53\noptions edns0 timeout:2\n";
const settings = { servers: ["198.18.0.1"], domain: "cluster.local", hostResolvConf: HOST };
const pod = (spec: Pod["spec"] = { containers: [] }, ns = "shop"): Pod => ({ metadata: { name: "p", namespace: ns }, spec });

Deno.test("ClusterFirst points at the cluster DNS with the namespace's search path, then the node's, and ndots:5", () => {
  const cfg = podDnsConfig(pod(), settings);
  assert.deepEqual(cfg, {
    servers: ["198.18.0.1"],
    searches: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.test", "lab.test"],
    options: ["ndots:5"],
  });
  assert.equal(
    resolvConf(cfg),
    "search shop.svc.cluster.local svc.cluster.local cluster.local corp.test lab.test\n" +
      "nameserver 198.18.0.1\noptions ndots:5\n",
  );
});

Deno.test("Default copies the node's resolv.conf; hostNetwork turns ClusterFirst into Default", () => {
  const expect = { servers: ["127.0.0.53"], searches: ["corp.test", "lab.test"], options: ["edns0", "timeout:2"] };
  assert.deepEqual(podDnsConfig(pod({ containers: [], dnsPolicy: "Default" }), settings), expect);
  assert.deepEqual(podDnsConfig(pod({ containers: [], hostNetwork: true }), settings), expect);
  assert.equal(
    podDnsConfig(pod({ containers: [], hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), settings)
      .servers[0],
    "198.18.0.1",
  );
});

Deno.test("dnsConfig adds nameservers and searches and overrides options by name; None uses only it", () => {
  const cfg = podDnsConfig(
    pod({
      containers: [],
      dnsConfig: {
        nameservers: ["198.18.0.53"],
        searches: ["extra.test", "svc.cluster.local"],
        options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
      },
    }),
    settings,
  );
  assert.deepEqual(cfg.servers, ["198.18.0.1", "198.18.0.53"]);
  assert.deepEqual(cfg.searches.slice(-1), ["extra.test"]);
  assert.equal(cfg.searches.filter((s) => s === "svc.cluster.local").length, 1);
  assert.deepEqual(cfg.options, ["ndots:2", "edns0"]);
  const none = podDnsConfig(
    pod({ containers: [], dnsPolicy: "None", dnsConfig: { nameservers: ["198.18.0.9"], searches: ["a.test"] } }),
    settings,
  );
  assert.deepEqual(none, { servers: ["198.18.0.9"], searches: ["a.test"], options: [] });
});

Deno.test("without a cluster DNS server ClusterFirst falls back to the node's resolvers", () => {
  assert.deepEqual(podDnsConfig(pod(), { servers: [], hostResolvConf: HOST }).servers, ["127.0.0.53"]);
});

Deno.test("parseResolvConf() keeps the last search line and every nameserver", () => {
  assert.deepEqual(parseResolvConf("domain a.test\nsearch b.test c.test.\nnameserver 1.1.1.1\nnameserver ::1\n"), {
    servers: ["1.1.1.1", "::1"],
    searches: ["b.test", "c.test"],
    options: [],
  });
});

Deno.test("candidateNames() follows ndots: short names try the search path first", () => {
  const cfg = { searches: ["shop.svc.cluster.local", "svc.cluster.local"], options: ["ndots:5"] };
  assert.deepEqual(candidateNames("web", cfg), ["web.shop.svc.cluster.local", "web.svc.cluster.local", "web"]);
  assert.deepEqual(candidateNames("web.shop.svc.cluster.local.", cfg), ["web.shop.svc.cluster.local"]);
  assert.deepEqual(candidateNames("a.b.c.d.e.f", cfg)[0], "a.b.c.d.e.f");
});
