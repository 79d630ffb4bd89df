/**
 * Authorization benchmarks: the cost of one decision with 1,000 bindings, and the latency a GET pays
 * for RBAC over HTTP, each next to a baseline measured in the same run.
 *
 * - decision (index): `decideNow` for an allowed request with a new object name each time (past
 *   the decision memo: the index walk itself), and for an allowed and a denied request repeated
 *   (memoized until a role or binding changes), against a linear scan of all 1,000 bindings
 *   (upstream's RBAC visits every ClusterRoleBinding and every RoleBinding of the namespace; our
 *   index visits only the caller's);
 * - GET latency: the same authenticated GET of a ConfigMap, with RBAC (1,000 bindings) and with
 *   authorization off (`allowAll`), sequential, p50.
 *
 * Rows have the shape of tests/bench/bench_row.ts `BenchRow`; add `rbac: benchRbac` to the groups
 * of tests/bench/main.ts. Run alone: `deno run -A control/apiserver/rbac/bench.ts`.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { LOOPBACK } from "../auth/users.ts";
import { allowAll, type Authenticator, type Authorizer } from "../context.ts";
import type { ApiServer } from "../server.ts";
import { bootstrapClusterRoles } from "./bootstrap_policy.ts";
import { RbacAuthorization } from "./mod.ts";
import { ruleAllows, subjectApplies, subjectsOf } from "./rules.ts";
import { attributes, rulesOf } from "./types.ts";

/** One benchmark figure with its same-run baseline (structurally tests/bench's `BenchRow`). */
export interface RbacBenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number; unit: string };
  ratio?: number;
  target?: string;
  met?: boolean;
}

const BINDINGS = 1000;
const NAMESPACES = 100;
const G = "rbac.authorization.k8s.io";

/** 100 ClusterRoleBindings and 900 RoleBindings over 100 namespaces, each for its own user. */
function bindings(): { kind: "rolebindings" | "clusterrolebindings"; obj: KubeObject }[] {
  const out: { kind: "rolebindings" | "clusterrolebindings"; obj: KubeObject }[] = [];
  for (let i = 0; i < BINDINGS; i++) {
    const roleRef = { apiGroup: G, kind: "ClusterRole", name: i % 2 ? "view" : "edit" };
    const subjects = [{ apiGroup: G, kind: "User", name: `user-${i}` }, {
      apiGroup: G,
      kind: "Group",
      name: `group-${i % 50}`,
    }];
    if (i < BINDINGS / 10) {
      out.push({
        kind: "clusterrolebindings",
        obj: { metadata: { name: `crb-${i}` }, roleRef: { ...roleRef, name: "system:basic-user" }, subjects },
      });
    } else {
      out.push({
        kind: "rolebindings",
        obj: { metadata: { name: `rb-${i}`, namespace: `ns-${i % NAMESPACES}` }, roleRef, subjects },
      });
    }
  }
  return out;
}

function perOp(fn: () => void, minMs = 300): number {
  for (let i = 0; i < 1000; i++) fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1e6) / n; // ns per op
}

/** The decision micro-benchmark (pure, no server). */
export function benchDecision(): RbacBenchRow[] {
  const authz = new RbacAuthorization();
  for (const role of bootstrapClusterRoles()) authz.cache.sink("clusterroles").set(role);
  const all = bindings();
  for (const b of all) authz.cache.sink(b.kind).set(b.obj);
  const user = { username: "user-555", groups: ["group-5", "system:authenticated"] };
  const allowed = attributes(user, { verb: "get", resource: "configmaps", namespace: "ns-55", name: "cfg" });
  const denied = attributes(user, { verb: "get", resource: "secrets", namespace: "ns-56", name: "cfg" });
  if (authz.decideNow(allowed).decision !== "allow" || authz.decideNow(denied).decision === "allow") {
    throw new Error("benchmark setup is wrong: unexpected decisions");
  }
  // The baseline: visit every binding (as an unindexed authorizer would).
  const roles = new Map(bootstrapClusterRoles().map((r) => [r.metadata.name!, rulesOf(r)]));
  const scan = (a: typeof allowed) => {
    for (const b of all) {
      const ns = b.obj.metadata.namespace ?? "";
      if (ns && ns !== a.namespace) continue;
      if (!subjectsOf(b.obj).some((s) => subjectApplies(a.user, s, ns))) continue;
      for (const r of roles.get(b.obj.roleRef.name) ?? []) if (ruleAllows(a, r)) return true;
    }
    return false;
  };
  const scanNs = perOp(() => scan(denied));
  const allowNs = perOp(() => authz.decideNow(allowed));
  const denyNs = perOp(() => authz.decideNow(denied));
  // A distinct object name each time: every decision misses the memo and walks the index.
  const names = Array.from(
    { length: 1000 },
    (_, i) => attributes(user, { verb: "get", resource: "configmaps", namespace: "ns-55", name: `cfg-${i}` }),
  );
  let next = 0;
  const freshNs = perOp(() => authz.decideNow(names[next++ % names.length]));
  return [
    {
      name: `RBAC decision, allowed, not memoized (${BINDINGS} bindings)`,
      value: freshNs / 1000,
      unit: "µs",
      baseline: { name: "scan of all bindings", value: scanNs / 1000, unit: "µs" },
      ratio: freshNs / scanNs,
      target: "≤ 10 µs",
      met: freshNs / 1000 <= 10,
    },
    {
      name: `RBAC decision, allowed, memoized (${BINDINGS} bindings)`,
      value: allowNs / 1000,
      unit: "µs",
      baseline: { name: "scan of all bindings", value: scanNs / 1000, unit: "µs" },
      ratio: allowNs / scanNs,
      target: "≤ 10 µs",
      met: allowNs / 1000 <= 10,
    },
    {
      name: `RBAC decision, denied, memoized (${BINDINGS} bindings)`,
      value: denyNs / 1000,
      unit: "µs",
      baseline: { name: "scan of all bindings", value: scanNs / 1000, unit: "µs" },
      ratio: denyNs / scanNs,
      target: "≤ 10 µs",
      met: denyNs / 1000 <= 10,
    },
  ];
}

const userAuthenticator: Authenticator = {
  authenticate: () => Promise.resolve({ username: "user-555", groups: ["group-5", "system:authenticated"] }),
};

/**
 * The HTTP overhead of RBAC with 1,000 bindings: one server, its authorizer switched between RBAC
 * and `allowAll` every 100 requests, so both modes see the same state, caches and machine load.
 */
export async function benchGetLatency(): Promise<RbacBenchRow[]> {
  const { startControlPlane } = await import("../../mod.ts");
  const authz = new RbacAuthorization();
  let rbacOn = true;
  const switched: Authorizer = { authorize: (a) => (rbacOn ? authz.authorize(a) : allowAll.authorize(a)) };
  const dir = await Deno.makeTempDir({ prefix: "skiff-rbac-bench-" });
  const cp = await startControlPlane({
    kvPath: `${dir}/state.kv`,
    port: 0,
    authenticator: userAuthenticator,
    authorizer: switched,
    admission: authz.admission,
    limits: false,
  });
  try {
    await authz.start(cp.server);
    await populate(cp.server);
    const url = `${cp.url}/api/v1/namespaces/ns-55/configmaps/cfg`;
    const samples: Record<"on" | "off", number[]> = { on: [], off: [] };
    for (let i = 0; i < 4000; i++) {
      rbacOn = Math.floor(i / 100) % 2 === 0;
      const t = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
      if (i >= 400) samples[rbacOn ? "on" : "off"].push(performance.now() - t);
    }
    const p50 = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const on = p50(samples.on);
    const off = p50(samples.off);
    return [{
      name: `GET latency p50 with RBAC (${BINDINGS} bindings)`,
      value: on,
      unit: "ms",
      baseline: { name: "same server, authorization off", value: off, unit: "ms" },
      ratio: on / off,
      target: "≤ 1.2×",
      met: on / off <= 1.2,
    }];
  } finally {
    await cp.close();
    await authz.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Seeds the measured ConfigMap, 100 namespaces and the 1,000 bindings, as the loopback admin. */
async function populate(server: ApiServer): Promise<void> {
  const send = server.fetchAs(LOOPBACK);
  const post = async (path: string, body: unknown) => {
    const res = await send(
      new Request(`http://skiff.internal${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
    await res.body?.cancel();
    if (res.status !== 201 && res.status !== 409) throw new Error(`seeding ${path} answered ${res.status}`);
  };
  for (let i = 0; i < NAMESPACES; i++) {
    await post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: `ns-${i}` } });
  }
  await post("/api/v1/namespaces/ns-55/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cfg" },
    data: { a: "1" },
  });
  for (const b of bindings()) {
    const ns = b.obj.metadata.namespace;
    const path = ns ? `/apis/${G}/v1/namespaces/${ns}/rolebindings` : `/apis/${G}/v1/clusterrolebindings`;
    await post(path, { apiVersion: `${G}/v1`, kind: ns ? "RoleBinding" : "ClusterRoleBinding", ...b.obj });
  }
}

/** Every authorization benchmark. */
export async function benchRbac(): Promise<RbacBenchRow[]> {
  return [...benchDecision(), ...await benchGetLatency()];
}

if (import.meta.main) {
  for (const r of await benchRbac()) {
    const base = r.baseline
      ? ` (baseline ${r.baseline.name}: ${r.baseline.value.toFixed(3)} ${r.baseline.unit}, ${
        r.ratio!.toFixed(3)
      }×)`
      : "";
    console.log(
      `${r.name}: ${r.value.toFixed(3)} ${r.unit}${base} target ${r.target}: ${r.met ? "met" : "not met"}`,
    );
  }
}
