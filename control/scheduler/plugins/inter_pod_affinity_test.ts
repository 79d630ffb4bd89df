import assert from "node:assert/strict";
import { CycleState, type PodView } from "../types.ts";
import { cacheWith, nv, pv } from "../testing.ts";
import {
  ERR_REASON_AFFINITY,
  ERR_REASON_ANTI_AFFINITY,
  ERR_REASON_EXISTING_ANTI_AFFINITY,
  interPodAffinity,
} from "./inter_pod_affinity.ts";
import type { SchedulerCache } from "../cache.ts";

const HOST = "kubernetes.io/hostname";
const ZONE = "topology.kubernetes.io/zone";
const term = (app: string, topologyKey: string) => ({ labelSelector: { matchLabels: { app } }, topologyKey });
const on = (p: PodView, node: string) => ({ ...p, nodeName: node });

function run(pod: PodView, cache: SchedulerCache) {
  const st = new CycleState();
  const pre = interPodAffinity.preFilter(st, pod, cache);
  if (pre) return pre;
  return Object.fromEntries(
    cache.nodes().map((n) => [n.node.name, interPodAffinity.filter(st, pod, n)?.reasons[0] ?? "ok"]),
  );
}

const nodes = [
  nv("a1", { labels: { [ZONE]: "a" } }),
  nv("a2", { labels: { [ZONE]: "a" } }),
  nv("b1", { labels: { [ZONE]: "b" } }),
];

Deno.test("InterPodAffinity skips pods without required terms when no placed pod has required anti-affinity", () => {
  assert.deepEqual(interPodAffinity.preFilter(new CycleState(), pv("p"), cacheWith(nodes)), {
    code: "Skip",
    reasons: [],
  });
});

Deno.test("InterPodAffinity places a pod with required affinity in the zone of a matching pod", () => {
  const cache = cacheWith(nodes, [on(pv("db", { labels: { app: "db" } }), "a1")]);
  const pod = pv("web", {
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("db", ZONE)] } },
  });
  assert.deepEqual(run(pod, cache), { a1: "ok", a2: "ok", b1: ERR_REASON_AFFINITY });
});

Deno.test("InterPodAffinity lets the first pod of a self-affine group go anywhere", () => {
  const pod = pv("web", {
    labels: { app: "web" },
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", ZONE)] } },
  });
  assert.deepEqual(run(pod, cacheWith(nodes)), { a1: "ok", a2: "ok", b1: "ok" });
  const other = pv("x", {
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", ZONE)] } },
  });
  assert.deepEqual(run(other, cacheWith(nodes)), {
    a1: ERR_REASON_AFFINITY,
    a2: ERR_REASON_AFFINITY,
    b1: ERR_REASON_AFFINITY,
  });
});

Deno.test("InterPodAffinity keeps a pod with required anti-affinity off nodes hosting matching pods (hostname key)", () => {
  const cache = cacheWith(nodes, [on(pv("w1", { labels: { app: "web" } }), "a1")]);
  const pod = pv("w2", {
    labels: { app: "web" },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)] } },
  });
  assert.deepEqual(run(pod, cache), { a1: ERR_REASON_ANTI_AFFINITY, a2: "ok", b1: "ok" });
});

Deno.test("InterPodAffinity honours placed pods' required anti-affinity against the incoming pod (zone key)", () => {
  const loner = pv("loner", {
    labels: { app: "loner" },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", ZONE)] } },
  });
  const cache = cacheWith(nodes, [on(loner, "a1")]);
  assert.deepEqual(run(pv("w", { labels: { app: "web" } }), cache), {
    a1: ERR_REASON_EXISTING_ANTI_AFFINITY,
    a2: ERR_REASON_EXISTING_ANTI_AFFINITY,
    b1: "ok",
  });
});

Deno.test("InterPodAffinity matches terms across namespaces only as the term says", () => {
  const cache = cacheWith(nodes, [on(pv("db", { labels: { app: "db" }, namespace: "data" }), "a1")]);
  cache.setNamespace("data", { team: "storage" });
  const same = pv("web", {
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("db", ZONE)] } },
  });
  assert.equal(
    (run(same, cache) as Record<string, string>).a1,
    ERR_REASON_AFFINITY,
    "the term defaults to the pod's own namespace",
  );
  const bySelector = pv("web2", {
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{
          ...term("db", ZONE),
          namespaceSelector: { matchLabels: { team: "storage" } },
        }],
      },
    },
  });
  assert.deepEqual(run(bySelector, cache), { a1: "ok", a2: "ok", b1: ERR_REASON_AFFINITY });
});

Deno.test("InterPodAffinity's PreFilter state follows pods removed by preemption", () => {
  const cache = cacheWith(nodes, [on(pv("w1", { labels: { app: "web" } }), "a1")]);
  const pod = pv("w2", {
    labels: { app: "web" },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)] } },
  });
  const st = new CycleState();
  interPodAffinity.preFilter(st, pod, cache);
  const copy = st.clone();
  interPodAffinity.removePod!(copy, pod, on(pv("w1", { labels: { app: "web" } }), "a1"), cache.get("a1")!);
  assert.equal(interPodAffinity.filter(copy, pod, cache.get("a1")!), null);
  assert.ok(interPodAffinity.filter(st, pod, cache.get("a1")!));
});

Deno.test("InterPodAffinity scores nodes by preferred affinity and anti-affinity weights", () => {
  const cache = cacheWith(nodes, [
    on(pv("db", { labels: { app: "db" } }), "a1"),
    on(pv("noisy", { labels: { app: "noisy" } }), "b1"),
  ]);
  const pod = pv("web", {
    affinity: {
      podAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term("db", ZONE) }],
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 5,
          podAffinityTerm: term("noisy", HOST),
        }],
      },
    },
  });
  const st = new CycleState();
  const infos = cache.nodes();
  assert.equal(interPodAffinity.preScore(st, pod, infos, cache), null);
  const scores = infos.map((n) => interPodAffinity.score(st, pod, n));
  assert.deepEqual(scores, [10, 10, -5]);
  interPodAffinity.normalizeScore!(st, pod, infos, scores);
  assert.deepEqual(scores, [100, 100, 0]);
});

Deno.test("InterPodAffinity scores placed pods' required affinity toward the incoming pod (symmetry)", () => {
  const fan = pv("fan", {
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", ZONE)] } },
  });
  const cache = cacheWith(nodes, [on(fan, "b1")]);
  const st = new CycleState();
  const pod = pv("w", { labels: { app: "web" } });
  assert.equal(interPodAffinity.preScore(st, pod, cache.nodes(), cache), null);
  assert.deepEqual(cache.nodes().map((n) => interPodAffinity.score(st, pod, n)), [0, 0, 1]);
});
